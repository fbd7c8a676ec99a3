"""The device register: ops and admins register and change devices; bad input stores nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import People, Stack
from tests.devices_support import (
    CATEGORIES,
    DEVICES,
    assert_problem,
    audit_actions,
    counts,
    create_device,
    device_body,
    if_match,
    stored_device,
)

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


class TestCheckCategories:
    async def test_serves_the_procedures_eight_categories_in_order_with_both_languages(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(f"{DEVICES}/check-categories", headers=people.agent.headers)

        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [c["code"] for c in items] == list(CATEGORIES)
        display = items[1]
        assert display["name_zh"] == "显示屏"
        assert display["good_zh"] == "显示屏清晰,无划痕或损坏。"
        assert "闪烁" in display["abnormal_zh"]
        assert display["good_en"].startswith("The display is clear")
        assert all(c["abnormal_en"] and c["good_en"] for c in items)


class TestOpsRegistersDevice:
    async def test_answers_201_in_service_with_maintenance_due_after_the_interval(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        maintained = TODAY - timedelta(days=10)
        body = device_body(
            asset_tag=" pd-pc-0001 ",
            holder_id=str(people.agent.user_id),
            last_maintained_on=maintained.isoformat(),
            maintenance_interval_days=30,
        )
        response = await api.post(DEVICES, json=body, headers=people.ops.headers)

        assert response.status_code == 201, response.text
        device = response.json()
        assert response.headers["location"] == f"{DEVICES}/{device['id']}"
        assert response.headers["etag"] == 'W/"1"'
        assert device["asset_tag"] == "PD-PC-0001"
        assert device["status"] == "in_service"
        assert device["maintenance_due_on"] == (maintained + timedelta(days=30)).isoformat()
        assert device["maintenance_overdue"] is False
        assert device["checked_today"] is False
        assert device["holder_id"] == str(people.agent.user_id)
        assert await audit_actions(stack, device["id"]) == ["device.created"]
        stored = await stored_device(stack, device["id"])
        assert (stored["asset_tag"], stored["status"], stored["version"]) == ("PD-PC-0001", "in_service", 1)
        assert stored["maintenance_due_on"] == maintained + timedelta(days=30)

    async def test_never_maintained_device_is_due_an_interval_after_registration(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        device = await create_device(api, people.admin, maintenance_interval_days=7)
        assert device["maintenance_due_on"] == (TODAY + timedelta(days=7)).isoformat()

    async def test_an_agent_may_not_register_devices(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)
        body = device_body()
        response = await api.post(DEVICES, json=body, headers=people.agent.headers)
        assert_problem(response, 403)
        assert await counts(stack) == before
        tagged = await stack.fetch("SELECT id FROM devices.devices WHERE asset_tag = $1", body["asset_tag"])
        assert tagged == []


class TestRejectedRegistration:
    """Each bad input: a clear problem answer, and no device or audit row stored."""

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            pytest.param({"maintenance_interval_days": 0}, "maintenance_interval_days", id="interval-zero"),
            pytest.param(
                {"maintenance_interval_days": -30}, "maintenance_interval_days", id="interval-negative"
            ),
            pytest.param(
                {"maintenance_interval_days": 1.5}, "maintenance_interval_days", id="interval-float"
            ),
            pytest.param(
                {"maintenance_interval_days": "90"}, "maintenance_interval_days", id="interval-string"
            ),
            pytest.param({"device_type": "fax"}, "device_type", id="unknown-type"),
            pytest.param({"asset_tag": "   "}, "asset_tag", id="blank-tag"),
            pytest.param({"asset_tag": "PC 01; drop"}, "asset_tag", id="tag-with-spaces"),
            pytest.param({"holder_id": "wang"}, "holder_id", id="holder-not-uuid"),
            pytest.param({"last_maintained_on": "last week"}, "last_maintained_on", id="date-garbage"),
            pytest.param({"status": "retired"}, "status", id="server-owned-status"),
            pytest.param({"version": 3}, "version", id="server-owned-version"),
            pytest.param({"colour": "black"}, "colour", id="unknown-field"),
        ],
    )
    async def test_bad_field_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, overrides: dict[str, Any], field: str
    ) -> None:
        before = await counts(stack)
        response = await api.post(DEVICES, json=device_body(**overrides), headers=people.ops.headers)
        assert_problem(response, 422, field=field)
        assert await counts(stack) == before

    async def test_missing_interval_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = device_body()
        del body["maintenance_interval_days"]
        before = await counts(stack)
        response = await api.post(DEVICES, json=body, headers=people.ops.headers)
        assert_problem(response, 422, field="maintenance_interval_days")
        assert await counts(stack) == before

    async def test_maintenance_in_the_future_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)
        tomorrow = (TODAY + timedelta(days=1)).isoformat()
        response = await api.post(
            DEVICES, json=device_body(last_maintained_on=tomorrow), headers=people.ops.headers
        )
        problem = assert_problem(response, 422, field="last_maintained_on")
        assert "future" in problem["detail"]
        assert await counts(stack) == before

    async def test_duplicate_asset_tag_is_409_whatever_the_case(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_device(api, people.ops, asset_tag="PD-PR-0001")
        before = await counts(stack)

        response = await api.post(
            DEVICES, json=device_body(asset_tag="pd-pr-0001"), headers=people.admin.headers
        )

        problem = assert_problem(response, 409, field="asset_tag")
        assert "PD-PR-0001" in problem["detail"]
        assert await counts(stack) == before


class TestChangingDevice:
    async def test_recording_a_maintenance_moves_the_due_date_and_bumps_the_version(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(
            api, people.ops, maintenance_interval_days=30, last_maintained_on=str(TODAY - timedelta(days=40))
        )
        assert device["maintenance_overdue"] is True

        response = await api.patch(
            f"{DEVICES}/{device['id']}",
            json={"last_maintained_on": TODAY.isoformat()},
            headers=if_match(people.ops, 1),
        )

        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["maintenance_due_on"] == (TODAY + timedelta(days=30)).isoformat()
        assert changed["maintenance_overdue"] is False
        assert changed["version"] == 2
        assert response.headers["etag"] == 'W/"2"'
        assert await audit_actions(stack, device["id"]) == ["device.created", "device.updated"]
        stored = await stored_device(stack, device["id"])
        assert (stored["last_maintained_on"], stored["maintenance_due_on"], stored["version"]) == (
            TODAY,
            TODAY + timedelta(days=30),
            2,
        )

    async def test_without_if_match_is_428_and_with_a_stale_one_412(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        url = f"{DEVICES}/{device['id']}"

        assert_problem(await api.patch(url, json={"model": "X1"}, headers=people.ops.headers), 428)
        assert_problem(await api.patch(url, json={"model": "X1"}, headers=if_match(people.ops, 7)), 412)
        assert (await stored_device(stack, device["id"]))["model"] == "ThinkPad T14"

    @pytest.mark.parametrize("interval", [0, -1])
    async def test_interval_of_zero_or_less_is_422_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, interval: int
    ) -> None:
        device = await create_device(api, people.ops)
        before = await counts(stack)

        response = await api.patch(
            f"{DEVICES}/{device['id']}",
            json={"maintenance_interval_days": interval},
            headers=if_match(people.ops, 1),
        )

        assert_problem(response, 422, field="maintenance_interval_days")
        stored = await stored_device(stack, device["id"])
        assert (stored["version"], stored["maintenance_interval_days"]) == (1, 90)
        assert await counts(stack) == before

    async def test_taking_another_devices_asset_tag_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_device(api, people.ops, asset_tag="PD-PH-0001")
        device = await create_device(api, people.ops, asset_tag="PD-PH-0002")
        before = await counts(stack)

        response = await api.patch(
            f"{DEVICES}/{device['id']}", json={"asset_tag": "PD-PH-0001"}, headers=if_match(people.ops, 1)
        )

        assert_problem(response, 409, field="asset_tag")
        assert (await stored_device(stack, device["id"]))["asset_tag"] == "PD-PH-0002"
        assert await counts(stack) == before

    async def test_an_agent_may_not_change_even_their_own_device(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
        response = await api.patch(
            f"{DEVICES}/{device['id']}", json={"model": "Mine"}, headers=if_match(people.agent, 1)
        )
        assert_problem(response, 403)
        assert (await stored_device(stack, device["id"]))["version"] == 1

    async def test_a_retired_device_cannot_be_changed(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        retired = await api.post(
            f"{DEVICES}/{device['id']}/retire", json={"reason": "obsolete"}, headers=if_match(people.ops, 1)
        )
        assert retired.status_code == 200, retired.text
        version = retired.json()["version"]

        response = await api.patch(
            f"{DEVICES}/{device['id']}", json={"model": "Again"}, headers=if_match(people.ops, version)
        )

        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/device-retired")
        assert not {"current_state", "requested_state", "allowed_next_states"} & problem.keys()
        stored = await stored_device(stack, device["id"])
        assert (stored["version"], stored["model"], stored["status"]) == (version, "ThinkPad T14", "retired")


class TestListingDevices:
    async def test_pages_by_asset_tag_and_filters_by_type(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for tag in ("C-3", "C-1", "C-2"):
            await create_device(api, people.ops, asset_tag=tag)
        await create_device(api, people.ops, asset_tag="P-1", device_type="printer")

        first = (await api.get(DEVICES, params={"limit": 2}, headers=people.ops.headers)).json()
        second = (
            await api.get(
                DEVICES, params={"limit": 2, "cursor": first["next_cursor"]}, headers=people.ops.headers
            )
        ).json()
        printers = (
            await api.get(DEVICES, params={"device_type": "printer"}, headers=people.ops.headers)
        ).json()

        assert [d["asset_tag"] for d in first["items"]] == ["C-1", "C-2"]
        assert [d["asset_tag"] for d in second["items"]] == ["C-3", "P-1"]
        assert second["next_cursor"] is None
        assert [d["asset_tag"] for d in printers["items"]] == ["P-1"]

    async def test_a_garbage_cursor_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(DEVICES, params={"cursor": "not-ours"}, headers=people.ops.headers)
        assert_problem(response, 422, field="cursor")

    async def test_maintenance_overdue_filter(self, api: httpx.AsyncClient, people: People) -> None:
        long_ago = (TODAY - timedelta(days=200)).isoformat()
        await create_device(api, people.ops, asset_tag="OLD-1", last_maintained_on=long_ago)
        await create_device(api, people.ops, asset_tag="NEW-1", last_maintained_on=TODAY.isoformat())

        response = await api.get(DEVICES, params={"maintenance_overdue": "true"}, headers=people.ops.headers)

        assert [d["asset_tag"] for d in response.json()["items"]] == ["OLD-1"]


class TestTheHolderReference:
    """Issue 14, finding 9: a device's holder is checked in the gateway's user directory."""

    async def test_a_made_up_holder_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)

        response = await api.post(
            DEVICES, json=device_body(holder_id=str(uuid.uuid4())), headers=people.ops.headers
        )

        assert_problem(response, 422, field="holder_id")
        assert await counts(stack) == before

    async def test_a_deactivated_holder_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        current = await api.get(f"/api/v1/users/{people.colleague.user_id}", headers=people.admin.headers)
        await api.patch(
            f"/api/v1/users/{people.colleague.user_id}",
            json={"is_active": False},
            headers={**people.admin.headers, "If-Match": current.headers["etag"]},
        )
        device = await create_device(api, people.ops)

        response = await api.patch(
            f"{DEVICES}/{device['id']}",
            json={"holder_id": str(people.colleague.user_id)},
            headers=if_match(people.ops, device["version"]),
        )

        problem = assert_problem(response, 422, field="holder_id")
        assert "deactivated" in problem["detail"]
        assert (await stored_device(stack, device["id"]))["holder_id"] is None

    async def test_a_real_holder_is_taken(self, api: httpx.AsyncClient, people: People) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.outsider.user_id))

        assert device["holder_id"] == str(people.outsider.user_id)
