"""Status checks: a result for every category; an abnormal finding stops use at once (procedure §四)."""

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
    findings,
    get_device,
    get_repair,
    if_match,
    record_check,
    stored_device,
)

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(ZONE).date().isoformat()


class TestAllGoodCheck:
    async def test_records_every_finding_and_keeps_the_device_in_service(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))

        response = await api.post(
            f"{DEVICES}/{device['id']}/checks",
            json={"findings": list(reversed(findings())), "note": "pre-work check"},
            headers=people.agent.headers,
        )

        assert response.status_code == 201, response.text
        check = response.json()
        assert response.headers["location"] == f"{DEVICES}/checks/{check['id']}"
        assert check["result"] == "good"
        assert check["checked_on"] == TODAY
        assert check["checked_by"] == str(people.agent.user_id)
        assert check["repair_id"] is None
        assert [f["category"] for f in check["findings"]] == list(CATEGORIES)  # the procedure's order
        assert check["device"]["status"] == "in_service"
        assert check["device"]["checked_today"] is True
        assert check["device"]["last_checked_on"] == TODAY
        assert await audit_actions(stack, check["id"]) == ["check.recorded"]
        stored = await stack.fetch(
            "SELECT count(*) AS n FROM devices.check_findings WHERE check_id = $1", uuid.UUID(check["id"])
        )
        assert stored[0]["n"] == len(CATEGORIES)

    async def test_the_check_can_be_read_back_and_listed_for_the_device(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        device = await create_device(api, people.ops)
        first = await record_check(api, people.ops, device["id"])
        second = await record_check(api, people.ops, device["id"])

        one = await api.get(f"{DEVICES}/checks/{first['id']}", headers=people.ops.headers)
        listed = await api.get(
            f"{DEVICES}/{device['id']}/checks", params={"limit": 1}, headers=people.ops.headers
        )
        rest = await api.get(
            f"{DEVICES}/{device['id']}/checks",
            params={"limit": 1, "cursor": listed.json()["next_cursor"]},
            headers=people.ops.headers,
        )

        assert one.json()["findings"] == first["findings"]
        assert [c["id"] for c in listed.json()["items"]] == [second["id"]]
        assert [c["id"] for c in rest.json()["items"]] == [first["id"]]
        assert rest.json()["next_cursor"] is None


class TestAbnormalCheck:
    async def test_takes_the_device_out_of_service_at_once_and_opens_a_repair(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))

        check = await record_check(api, people.agent, device["id"], {"display": "屏幕闪烁", "network": None})

        assert check["result"] == "abnormal"
        assert check["device"]["status"] == "out_of_service"
        assert check["repair_id"] is not None
        assert check["device"]["open_repair_id"] == check["repair_id"]
        repair = await get_repair(api, people.agent, check["repair_id"])
        assert repair["status"] == "open"
        assert repair["category"] == "display"
        assert repair["categories"] == ["display", "network"]
        assert "屏幕闪烁" in repair["fault"]
        assert "network connection is unstable" in repair["fault"]  # the procedure's words when no note
        assert repair["opened_by"] == str(people.agent.user_id)
        assert repair["opened_by_check_id"] == check["id"]
        assert repair["opened_at"] is not None
        assert await audit_actions(stack, device["id"]) == ["device.created", "device.status_changed"]
        assert await audit_actions(stack, repair["id"]) == ["repair.opened"]

    async def test_a_second_abnormal_check_does_not_open_a_second_repair(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        first = await record_check(api, people.ops, device["id"], {"temperature": "过热"})

        again = await record_check(api, people.ops, device["id"], {"power_supply": "断电"})

        assert again["repair_id"] is None
        assert again["device"]["open_repair_id"] == first["repair_id"]
        assert again["device"]["status"] == "out_of_service"
        rows = await stack.fetch("SELECT count(*) AS n FROM devices.repairs")
        assert rows[0]["n"] == 1


def _body(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"findings": items}


class TestRejectedCheck:
    """Each bad check: a clear problem answer; no check, finding, repair or audit row; device unchanged."""

    @pytest.mark.parametrize(
        ("body", "field", "says"),
        [
            pytest.param(
                _body([*findings(), {"category": "smell", "result": "abnormal"}]),
                "findings.8.category",
                "unknown category 'smell'",
                id="unknown-category",
            ),
            pytest.param(
                _body(findings(skip="network")),
                "findings",
                "missing a result for: network",
                id="missing-category",
            ),
            pytest.param(
                _body([*findings(), {"category": "display", "result": "good"}]),
                "findings.8.category",
                "given twice",
                id="duplicate-category",
            ),
            pytest.param(_body([]), "findings", "missing a result for", id="no-findings"),
            pytest.param(
                _body([{**f, "result": "ok"} if f["category"] == "display" else f for f in findings()]),
                "findings.1.result",
                "",
                id="result-neither-good-nor-abnormal",
            ),
            pytest.param(
                _body([{**f, "severity": 3} for f in findings()]),
                "findings.0.severity",
                "",
                id="unknown-field",
            ),
            pytest.param({"note": "all fine"}, "findings", "", id="findings-absent"),
        ],
    )
    async def test_bad_findings_are_422_and_nothing_is_stored(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        body: dict[str, Any],
        field: str,
        says: str,
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
        before = await counts(stack)

        response = await api.post(f"{DEVICES}/{device['id']}/checks", json=body, headers=people.agent.headers)

        problem = assert_problem(response, 422, field=field)
        assert says in problem["detail"]
        assert await counts(stack) == before
        stored = await stored_device(stack, device["id"])
        assert (stored["version"], stored["last_checked_on"], stored["status"]) == (1, None, "in_service")

    async def test_a_retired_device_accepts_no_checks(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        retired = await api.post(
            f"{DEVICES}/{device['id']}/retire", json={"reason": "replaced"}, headers=if_match(people.ops, 1)
        )
        assert retired.json()["status"] == "retired"
        before = await counts(stack)

        response = await api.post(
            f"{DEVICES}/{device['id']}/checks", json={"findings": findings()}, headers=people.ops.headers
        )

        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/device-retired")
        assert "retired" in problem["detail"]
        # Recording a check asks for no state move: the body carries no transition fields.
        assert not {"current_state", "allowed_next_states", "current_status", "allowed_next"} & problem.keys()
        assert await counts(stack) == before
        stored = await stored_device(stack, device["id"])
        assert (stored["status"], stored["last_checked_on"]) == ("retired", None)

    async def test_a_device_outside_the_agents_reach_is_404_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(
            api, people.ops, location="徐汇办公室", holder_id=str(people.outsider.user_id)
        )
        before = await counts(stack)

        response = await api.post(
            f"{DEVICES}/{device['id']}/checks", json={"findings": findings()}, headers=people.agent.headers
        )

        assert_problem(response, 404)
        assert await counts(stack) == before
        stored = await stored_device(stack, device["id"])
        assert (stored["version"], stored["last_checked_on"]) == (1, None)


class TestDeviceRead:
    async def test_get_device_carries_the_etag(self, api: httpx.AsyncClient, people: People) -> None:
        device = await create_device(api, people.ops)
        await record_check(api, people.ops, device["id"])
        response = await api.get(f"{DEVICES}/{device['id']}", headers=people.ops.headers)
        assert response.headers["etag"] == f'W/"{response.json()["version"]}"'
        assert (await get_device(api, people.ops, device["id"]))["version"] == 2


class TestCheckEnteredLate:
    async def test_a_check_from_the_paper_log_counts_for_its_own_business_day(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
        done = datetime.now(ZONE).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=2)

        response = await api.post(
            f"{DEVICES}/{device['id']}/checks",
            json={"findings": findings(), "checked_at": done.isoformat()},
            headers=people.agent.headers,
        )

        assert response.status_code == 201, response.text
        check = response.json()
        assert check["checked_on"] == done.date().isoformat()
        assert check["device"]["checked_today"] is False
        assert check["device"]["last_checked_on"] == done.date().isoformat()
        [stored] = await stack.fetch(
            "SELECT checked_at, checked_on FROM devices.device_checks WHERE id = $1", uuid.UUID(check["id"])
        )
        assert (stored["checked_at"], stored["checked_on"]) == (done, done.date())
        assert (await stored_device(stack, device["id"]))["last_checked_on"] == done.date()

    @pytest.mark.parametrize(
        ("shift", "says"),
        [
            pytest.param(timedelta(hours=1), "future", id="in-the-future"),
            pytest.param(timedelta(days=-8), "at most 7 days late", id="over-a-week-late"),
        ],
    )
    async def test_a_time_in_the_future_or_over_a_week_back_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack, shift: timedelta, says: str
    ) -> None:
        device = await create_device(api, people.ops)
        before = await counts(stack)

        response = await api.post(
            f"{DEVICES}/{device['id']}/checks",
            json={"findings": findings(), "checked_at": (datetime.now(ZONE) + shift).isoformat()},
            headers=people.ops.headers,
        )

        problem = assert_problem(response, 422, field="checked_at")
        assert says in problem["detail"]
        assert await counts(stack) == before

    async def test_a_time_without_an_offset_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        before = await counts(stack)
        response = await api.post(
            f"{DEVICES}/{device['id']}/checks",
            json={"findings": findings(), "checked_at": "2026-01-05T09:00:00"},
            headers=people.ops.headers,
        )
        assert_problem(response, 422, field="checked_at")
        assert await counts(stack) == before


class TestRetriedCheck:
    async def test_the_same_idempotency_key_records_one_check(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
        headers = {**people.agent.headers, "Idempotency-Key": "pre-work-2026-11-23-laptop"}
        body = {"findings": findings({"display": "闪烁"})}

        first = await api.post(f"{DEVICES}/{device['id']}/checks", json=body, headers=headers)
        again = await api.post(f"{DEVICES}/{device['id']}/checks", json=body, headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["id"] == first.json()["id"]
        for table in ("device_checks", "repairs"):
            rows = await stack.fetch(
                f"SELECT count(*) AS n FROM devices.{table} WHERE device_id = $1",  # noqa: S608
                uuid.UUID(device["id"]),
            )
            assert rows[0]["n"] == 1, table
        found = await counts(stack)
        assert (found["device_checks"], found["repairs"]) == (1, 1)
