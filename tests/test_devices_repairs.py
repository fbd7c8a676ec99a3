"""Repair and return to service: abnormal check → out of service → under repair → closed → a good
check → in service; the status flow is a transition table and illegal moves answer 409."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import People, Stack
from tests.devices_support import (
    DEVICES,
    assert_problem,
    audit_actions,
    counts,
    create_device,
    get_device,
    get_repair,
    if_match,
    record_check,
    stored_device,
    stored_repair,
)


async def _start(api: httpx.AsyncClient, people: People, repair: dict[str, Any]) -> httpx.Response:
    return await api.post(
        f"{DEVICES}/repairs/{repair['id']}/start", headers=if_match(people.ops, repair["version"])
    )


async def _close(
    api: httpx.AsyncClient, people: People, repair: dict[str, Any], resolution: str = "replaced the cable"
) -> httpx.Response:
    return await api.post(
        f"{DEVICES}/repairs/{repair['id']}/close",
        json={"resolution": resolution},
        headers=if_match(people.ops, repair["version"]),
    )


class TestWalkFromAbnormalCheckBackToService:
    async def test_the_whole_walk(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))

        # 1. The agent's pre-work check finds the network dropping: out of service at once.
        check = await record_check(api, people.agent, device["id"], {"network": "频繁掉线"})
        assert check["device"]["status"] == "out_of_service"
        repair = await get_repair(api, people.agent, check["repair_id"])

        # 2. Ops start the repair: the device is under repair.
        started = await _start(api, people, repair)
        assert started.status_code == 200, started.text
        repair = started.json()
        assert repair["status"] == "in_progress"
        assert repair["started_by"] == str(people.ops.user_id)
        assert (await get_device(api, people.agent, device["id"]))["status"] == "under_repair"

        # 3. A check while the repair is under way changes nothing.
        during = await record_check(api, people.ops, device["id"])
        assert during["device"]["status"] == "under_repair"

        # 4. Ops close the repair with what was done: still under repair, awaiting a good check.
        closed = await _close(api, people, repair, "更换网线并重置网卡")
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        assert closed.json()["resolution"] == "更换网线并重置网卡"
        assert closed.json()["closed_at"] is not None
        waiting = await get_device(api, people.agent, device["id"])
        assert (waiting["status"], waiting["open_repair_id"]) == ("under_repair", None)

        # 5. A check with every category good returns it to service.
        final = await record_check(api, people.agent, device["id"])
        assert final["device"]["status"] == "in_service"

        statuses = await stack.fetch(
            "SELECT before->>'status' AS old, after->>'status' AS new FROM devices.audit_log"
            " WHERE action = 'device.status_changed' ORDER BY id"
        )
        assert [(r["old"], r["new"]) for r in statuses] == [
            ("in_service", "out_of_service"),
            ("out_of_service", "under_repair"),
            ("under_repair", "in_service"),
        ]
        assert await audit_actions(stack, repair["id"]) == [
            "repair.opened",
            "repair.started",
            "repair.closed",
        ]

    async def test_an_abnormal_check_after_the_repair_takes_it_out_again_with_a_new_repair(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"display": None})
        repair = (await _start(api, people, await get_repair(api, people.ops, check["repair_id"]))).json()
        await _close(api, people, repair)

        again = await record_check(api, people.ops, device["id"], {"display": "还是花屏"})

        assert again["device"]["status"] == "out_of_service"
        assert again["repair_id"] not in (None, repair["id"])

    async def test_a_quick_fix_may_be_closed_without_a_start(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"input_output": "鼠标松动"})
        repair = await get_repair(api, people.ops, check["repair_id"])

        closed = await _close(api, people, repair, "重新插好鼠标")

        assert closed.status_code == 200, closed.text
        assert (await get_device(api, people.ops, device["id"]))["status"] == "under_repair"
        stored = await stored_repair(stack, repair["id"])
        assert (stored["status"], stored["started_at"], stored["resolution"]) == (
            "closed",
            None,
            "重新插好鼠标",
        )
        assert (await record_check(api, people.ops, device["id"]))["device"]["status"] == "in_service"


class TestIllegalMoves:
    async def test_starting_a_started_repair_is_409_listing_the_allowed_moves(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"temperature": None})
        repair = (await _start(api, people, await get_repair(api, people.ops, check["repair_id"]))).json()
        before = await counts(stack)

        response = await _start(api, people, repair)

        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/illegal-transition")
        assert (problem["current_state"], problem["requested_state"], problem["allowed_next_states"]) == (
            "in_progress",
            "in_progress",
            ["closed"],
        )
        assert not {"current_status", "allowed_next"} & problem.keys()
        assert await counts(stack) == before
        assert (await get_repair(api, people.ops, repair["id"]))["version"] == repair["version"]

    async def test_closing_a_closed_repair_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"maintenance": None})
        closed = (await _close(api, people, await get_repair(api, people.ops, check["repair_id"]))).json()
        before = await counts(stack)

        response = await _close(api, people, closed)

        problem = assert_problem(response, 409)
        assert (problem["current_state"], problem["requested_state"], problem["allowed_next_states"]) == (
            "closed",
            "closed",
            [],
        )
        assert await counts(stack) == before
        assert (await get_repair(api, people.ops, closed["id"]))["resolution"] == closed["resolution"]

    async def test_retiring_a_retired_device_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        retired = await api.post(
            f"{DEVICES}/{device['id']}/retire", json={"reason": "old"}, headers=if_match(people.ops, 1)
        )
        version = retired.json()["version"]
        before = await counts(stack)

        response = await api.post(
            f"{DEVICES}/{device['id']}/retire",
            json={"reason": "again"},
            headers=if_match(people.ops, version),
        )

        problem = assert_problem(response, 409)
        assert "retired to retired" in problem["detail"]
        assert (problem["current_state"], problem["requested_state"], problem["allowed_next_states"]) == (
            "retired",
            "retired",
            [],
        )
        assert await counts(stack) == before
        assert (await stored_device(stack, device["id"]))["version"] == version

    async def test_retiring_a_broken_device_closes_its_repair(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"noise_vibration": "异响"})
        current = await get_device(api, people.ops, device["id"])

        response = await api.post(
            f"{DEVICES}/{device['id']}/retire",
            json={"reason": "beyond repair"},
            headers=if_match(people.ops, current["version"]),
        )

        assert response.json()["status"] == "retired"
        assert response.json()["open_repair_id"] is None
        repair = await get_repair(api, people.ops, check["repair_id"])
        assert (repair["status"], repair["resolution"]) == ("closed", "device retired: beyond repair")
        stored = await stored_device(stack, device["id"])
        assert (stored["status"], stored["open_repair_id"]) == ("retired", None)
        assert await audit_actions(stack, repair["id"]) == ["repair.opened", "repair.closed"]


class TestWhoWorksRepairs:
    async def test_an_agent_may_see_but_not_start_the_repair_of_their_device(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
        check = await record_check(api, people.agent, device["id"], {"display": None})
        repair = await get_repair(api, people.agent, check["repair_id"])

        response = await api.post(
            f"{DEVICES}/repairs/{repair['id']}/start", headers=if_match(people.agent, repair["version"])
        )

        assert_problem(response, 403)
        assert (await stored_device(stack, device["id"]))["status"] == "out_of_service"

    async def test_start_without_if_match_is_428(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"display": None})
        response = await api.post(f"{DEVICES}/repairs/{check['repair_id']}/start", headers=people.ops.headers)
        assert_problem(response, 428)
        assert (await get_repair(api, people.ops, check["repair_id"]))["status"] == "open"
        stored = await stored_repair(stack, check["repair_id"])
        assert (stored["version"], stored["started_at"], stored["started_by"]) == (1, None, None)
        assert (await stored_device(stack, device["id"]))["status"] == "out_of_service"

    async def test_close_without_resolution_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"display": None})
        repair = await get_repair(api, people.ops, check["repair_id"])
        response = await api.post(
            f"{DEVICES}/repairs/{repair['id']}/close",
            json={"resolution": " "},
            headers=if_match(people.ops, 1),
        )
        assert_problem(response, 422, field="resolution")
        assert (await get_repair(api, people.ops, repair["id"]))["status"] == "open"
        stored = await stored_repair(stack, repair["id"])
        assert (stored["version"], stored["resolution"], stored["closed_at"]) == (1, None, None)

    async def test_repairs_list_filters_by_status_and_device(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        broken = await create_device(api, people.ops)
        fine = await create_device(api, people.ops)
        check = await record_check(api, people.ops, broken["id"], {"display": None})
        await record_check(api, people.ops, fine["id"])

        open_ = await api.get(f"{DEVICES}/repairs", params={"status": "open"}, headers=people.ops.headers)
        of_fine = await api.get(
            f"{DEVICES}/repairs", params={"device_id": fine["id"]}, headers=people.ops.headers
        )

        assert [r["id"] for r in open_.json()["items"]] == [check["repair_id"]]
        assert of_fine.json()["items"] == []
