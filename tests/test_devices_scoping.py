"""Who sees which devices: agents (and team leads) those they hold or that sit at their location;
ops and admins all; API keys only with the devices scopes."""

from __future__ import annotations

import httpx
import pytest

from crmkit.auth import issue_access_token
from tests.conftest import People, Person, Stack
from tests.devices_support import (
    DEVICES,
    assert_problem,
    counts,
    create_device,
    findings,
    get_device,
    record_check,
)

XUHUI = "徐汇办公室"


@pytest.fixture
async def fleet(api: httpx.AsyncClient, people: People) -> dict[str, dict[str, object]]:
    """A laptop held by the agent, a printer at Pudong (North's office), a phone at Xuhui held by the
    outsider, and a router in storage (no holder, no location)."""
    return {
        "laptop": await create_device(
            api, people.ops, asset_tag="A-LAPTOP", holder_id=str(people.agent.user_id), location=None
        ),
        "printer": await create_device(api, people.ops, asset_tag="B-PRINTER", device_type="printer"),
        "phone": await create_device(
            api,
            people.ops,
            asset_tag="C-PHONE",
            device_type="phone",
            location=XUHUI,
            holder_id=str(people.outsider.user_id),
        ),
        "router": await create_device(
            api, people.ops, asset_tag="D-ROUTER", device_type="network_equipment", location=None
        ),
    }


async def visible_tags(api: httpx.AsyncClient, person: Person) -> list[str]:
    response = await api.get(DEVICES, headers=person.headers)
    assert response.status_code == 200, response.text
    return [item["asset_tag"] for item in response.json()["items"]]


class TestWhoSeesWhat:
    async def test_agent_sees_held_and_same_location_devices(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]]
    ) -> None:
        assert await visible_tags(api, people.agent) == ["A-LAPTOP", "B-PRINTER"]
        assert await visible_tags(api, people.colleague) == ["B-PRINTER"]
        assert await visible_tags(api, people.outsider) == ["C-PHONE"]

    async def test_team_lead_is_scoped_like_an_agent(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]]
    ) -> None:
        assert await visible_tags(api, people.lead) == ["B-PRINTER"]

    @pytest.mark.parametrize("who", ["ops", "admin"])
    async def test_ops_and_admin_see_all(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]], who: str
    ) -> None:
        person = getattr(people, who)
        assert await visible_tags(api, person) == ["A-LAPTOP", "B-PRINTER", "C-PHONE", "D-ROUTER"]

    async def test_agent_reading_a_device_neither_held_nor_at_their_location_gets_404(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]], stack: Stack
    ) -> None:
        before = await counts(stack)
        for tag in ("phone", "router"):
            response = await api.get(f"{DEVICES}/{fleet[tag]['id']}", headers=people.agent.headers)
            problem = assert_problem(response, 404)
            assert problem["detail"] == "no such device"
        assert await counts(stack) == before

    async def test_out_of_scope_checks_and_repairs_are_404_too(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]]
    ) -> None:
        check = await record_check(api, people.outsider, str(fleet["phone"]["id"]), {"display": None})

        assert_problem(await api.get(f"{DEVICES}/checks/{check['id']}", headers=people.agent.headers), 404)
        assert_problem(
            await api.get(f"{DEVICES}/repairs/{check['repair_id']}", headers=people.agent.headers), 404
        )
        listed = await api.get(f"{DEVICES}/repairs", headers=people.agent.headers)
        assert listed.json()["items"] == []
        phone_checks = await api.get(f"{DEVICES}/{fleet['phone']['id']}/checks", headers=people.agent.headers)
        assert_problem(phone_checks, 404)

    async def test_a_filter_cannot_widen_the_scope(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]]
    ) -> None:
        response = await api.get(DEVICES, params={"location": XUHUI}, headers=people.agent.headers)
        assert response.json()["items"] == []

    async def test_agent_can_check_the_shared_printer_at_their_office(
        self, api: httpx.AsyncClient, people: People, fleet: dict[str, dict[str, object]]
    ) -> None:
        check = await record_check(api, people.colleague, str(fleet["printer"]["id"]))
        assert check["device"]["checked_today"] is True
        assert (await get_device(api, people.colleague, str(fleet["printer"]["id"])))["last_checked_on"]


class TestApiKeyScopes:
    async def test_a_read_only_key_cannot_record_a_check(
        self, api: httpx.AsyncClient, people: People, stack: Stack, fleet: dict[str, dict[str, object]]
    ) -> None:
        settings = stack.apps["gateway"].state.settings
        token = issue_access_token(
            settings,
            user_id=people.ops.user_id,
            role=people.ops.role,
            team_id=None,
            scopes=frozenset({"devices:read"}),
        )
        headers = {"Authorization": f"Bearer {token}"}
        before = await counts(stack)

        read = await api.get(DEVICES, headers=headers)
        write = await api.post(
            f"{DEVICES}/{fleet['router']['id']}/checks", json={"findings": findings()}, headers=headers
        )

        assert read.status_code == 200
        problem = assert_problem(write, 403)
        assert "devices:write" in problem["detail"]
        assert await counts(stack) == before

    async def test_no_token_is_401(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(DEVICES), 401)
