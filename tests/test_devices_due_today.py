"""Pre-work checks (procedure §二.2): each business day, the caller's devices not yet checked; and the
work list for the agenda (checks due today, maintenance overdue)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import People, Stack
from tests.devices_support import DEVICES, create_device, record_check

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(ZONE).date()
DUE = f"{DEVICES}/checks/due-today"


async def due_tags(api: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await api.get(DUE, headers=headers)
    assert response.status_code == 200, response.text
    return [d["asset_tag"] for d in response.json()["items"]]


class TestDueToday:
    async def test_lists_the_agents_unchecked_devices_until_they_are_checked(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        laptop = await create_device(api, people.ops, asset_tag="LAPTOP", holder_id=str(people.agent.user_id))
        await create_device(api, people.ops, asset_tag="PRINTER", device_type="printer")
        await create_device(api, people.ops, asset_tag="ELSEWHERE", location="徐汇办公室")

        assert await due_tags(api, people.agent.headers) == ["LAPTOP", "PRINTER"]
        await record_check(api, people.agent, laptop["id"])
        assert await due_tags(api, people.agent.headers) == ["PRINTER"]

    async def test_a_check_on_an_earlier_business_day_does_not_count_for_today(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        laptop = await create_device(api, people.ops, asset_tag="LAPTOP", holder_id=str(people.agent.user_id))
        await record_check(api, people.agent, laptop["id"])
        # Yesterday's check, as if recorded then (the stored day is what the rule reads).
        await stack.fetch(
            "UPDATE devices.devices SET last_checked_on = $2 WHERE id = $1",
            uuid.UUID(laptop["id"]),
            TODAY - timedelta(days=1),
        )
        assert await due_tags(api, people.agent.headers) == ["LAPTOP"]

    async def test_devices_out_of_service_are_not_due(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        broken = await create_device(api, people.ops, asset_tag="BROKEN", holder_id=str(people.agent.user_id))
        await record_check(api, people.ops, broken["id"], {"display": None})
        # Make that check yesterday's, so only the status keeps the device off today's list.
        await stack.fetch(
            "UPDATE devices.devices SET last_checked_on = $2 WHERE id = $1",
            uuid.UUID(broken["id"]),
            TODAY - timedelta(days=1),
        )
        assert await due_tags(api, people.agent.headers) == []

    async def test_ops_see_every_device_due(self, api: httpx.AsyncClient, people: People) -> None:
        await create_device(api, people.ops, asset_tag="A", holder_id=str(people.agent.user_id))
        await create_device(api, people.ops, asset_tag="B", location="徐汇办公室")
        await create_device(api, people.ops, asset_tag="C", location=None)
        assert await due_tags(api, people.ops.headers) == ["A", "B", "C"]
        assert await due_tags(api, people.outsider.headers) == ["B"]


class TestWorkList:
    async def test_counts_and_lists_checks_due_and_maintenance_overdue(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        long_ago = (TODAY - timedelta(days=400)).isoformat()
        overdue = await create_device(
            api,
            people.ops,
            asset_tag="OVERDUE",
            holder_id=str(people.agent.user_id),
            last_maintained_on=long_ago,
        )
        await create_device(api, people.ops, asset_tag="FINE", last_maintained_on=TODAY.isoformat())
        await record_check(api, people.agent, overdue["id"])

        response = await api.get(f"{DEVICES}/work-list", headers=people.agent.headers)

        assert response.status_code == 200, response.text
        work = response.json()
        assert work["on"] == TODAY.isoformat()
        assert work["checks_due_today"]["count"] == 1
        assert [d["asset_tag"] for d in work["checks_due_today"]["items"]] == ["FINE"]
        assert work["maintenance_overdue"]["count"] == 1
        assert [d["asset_tag"] for d in work["maintenance_overdue"]["items"]] == ["OVERDUE"]
        assert work["maintenance_overdue"]["items"][0]["maintenance_overdue"] is True

    async def test_the_limit_caps_items_but_not_the_count(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for tag in ("X1", "X2", "X3"):
            await create_device(api, people.ops, asset_tag=tag)
        response = await api.get(f"{DEVICES}/work-list", params={"limit": 2}, headers=people.ops.headers)
        due = response.json()["checks_due_today"]
        assert (due["count"], [d["asset_tag"] for d in due["items"]]) == (3, ["X1", "X2"])
