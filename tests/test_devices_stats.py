"""Abnormality statistics for prevention: by category and device type per week or month (business
time zone), mean time to repair, devices with repeated faults; bad ranges refused."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import People, Stack
from tests.devices_support import (
    DEVICES,
    assert_problem,
    counts,
    create_device,
    get_repair,
    if_match,
    record_check,
)

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(ZONE).date()
STATS = f"{DEVICES}/stats/abnormalities"


async def stats(api: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await api.get(STATS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counted(items: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {item[key]: item["count"] for item in items}


async def move_check(stack: Stack, check_id: str, moment: datetime) -> None:
    """Backdate a check's findings (the statistics read their time)."""
    await stack.fetch(
        "UPDATE devices.check_findings SET checked_at = $2 WHERE check_id = $1", uuid.UUID(check_id), moment
    )


class TestCountsByCategoryAndType:
    async def test_counts_abnormal_findings_only(self, api: httpx.AsyncClient, people: People) -> None:
        laptop = await create_device(api, people.ops)
        printer = await create_device(api, people.ops, device_type="printer")
        await record_check(api, people.ops, laptop["id"], {"display": "花屏", "network": None})
        await record_check(api, people.ops, printer["id"], {"display": None})
        await record_check(api, people.ops, (await create_device(api, people.ops))["id"])  # all good

        result = await stats(
            api, people.ops.headers, **{"from": str(TODAY - timedelta(days=6)), "to": str(TODAY)}
        )

        assert result["from"] == str(TODAY - timedelta(days=6))
        assert result["total"] == 3
        assert counted(result["by_category"], "category") == {"display": 2, "network": 1}
        assert counted(result["by_device_type"], "device_type") == {"computer": 2, "printer": 1}
        this_week = [b for b in result["buckets"] if b["total"]]
        assert [b["starts_on"] for b in this_week] == [str(TODAY - timedelta(days=TODAY.weekday()))]
        assert counted(this_week[0]["by_category"], "category") == {"display": 2, "network": 1}
        assert counted(this_week[0]["by_device_type"], "device_type") == {"computer": 2, "printer": 1}

    async def test_weeks_are_cut_at_monday_midnight_in_the_business_time_zone(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        monday = TODAY - timedelta(days=TODAY.weekday() + 14)
        device = await create_device(api, people.ops)
        late_sunday = await record_check(api, people.ops, device["id"], {"display": None})
        early_monday = await record_check(api, people.ops, device["id"], {"network": None})
        # 23:30 Sunday and 00:30 Monday in Shanghai are both Sunday in UTC.
        await move_check(
            stack, late_sunday["id"], datetime.combine(monday, time(23, 30), ZONE) - timedelta(days=1)
        )
        await move_check(stack, early_monday["id"], datetime.combine(monday, time(0, 30), ZONE))

        result = await stats(
            api,
            people.ops.headers,
            **{"from": str(monday - timedelta(days=7)), "to": str(monday + timedelta(days=6))},
        )

        by_week = {b["starts_on"]: b for b in result["buckets"]}
        assert list(by_week) == [str(monday - timedelta(days=7)), str(monday)]
        assert counted(by_week[str(monday - timedelta(days=7))]["by_category"], "category") == {"display": 1}
        assert counted(by_week[str(monday)]["by_category"], "category") == {"network": 1}

    async def test_monthly_buckets_start_on_the_first(self, api: httpx.AsyncClient, people: People) -> None:
        device = await create_device(api, people.ops)
        await record_check(api, people.ops, device["id"], {"temperature": None})
        start = (TODAY.replace(day=1) - timedelta(days=40)).replace(day=1)

        result = await stats(
            api, people.ops.headers, **{"from": str(start), "to": str(TODAY), "bucket": "month"}
        )

        assert all(date.fromisoformat(b["starts_on"]).day == 1 for b in result["buckets"])
        assert len(result["buckets"]) == 3
        assert result["buckets"][-1]["total"] == 1
        assert result["buckets"][-1]["starts_on"] == str(TODAY.replace(day=1))

    async def test_an_agent_counts_only_devices_in_their_reach(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        mine = await create_device(api, people.ops, holder_id=str(people.agent.user_id), location=None)
        theirs = await create_device(api, people.ops, location="徐汇办公室")
        await record_check(api, people.ops, mine["id"], {"display": None})
        await record_check(api, people.ops, theirs["id"], {"display": None, "network": None})

        result = await stats(api, people.agent.headers, **{"from": str(TODAY), "to": str(TODAY)})

        assert result["total"] == 1


class TestRepairFigures:
    async def test_mean_time_to_repair_over_repairs_closed_in_range(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        check = await record_check(api, people.ops, device["id"], {"power_supply": "电压不稳"})
        repair = await get_repair(api, people.ops, check["repair_id"])
        closed = await api.post(
            f"{DEVICES}/repairs/{repair['id']}/close",
            json={"resolution": "换电源"},
            headers=if_match(people.ops, 1),
        )
        assert closed.status_code == 200, closed.text
        await stack.fetch(
            "UPDATE devices.repairs SET opened_at = closed_at - interval '36 hours' WHERE id = $1",
            uuid.UUID(repair["id"]),
        )

        result = await stats(api, people.ops.headers, **{"from": str(TODAY), "to": str(TODAY)})

        assert result["repairs_closed"] == 1
        assert result["mean_time_to_repair_hours"] == 36.0

    async def test_no_closed_repairs_means_no_mean(self, api: httpx.AsyncClient, people: People) -> None:
        result = await stats(api, people.ops.headers)
        assert (result["repairs_closed"], result["mean_time_to_repair_hours"]) == (0, None)

    async def test_devices_with_two_or_more_repairs_are_repeated_faults(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        flaky = await create_device(api, people.ops, asset_tag="FLAKY-1")
        once = await create_device(api, people.ops, asset_tag="ONCE-1")
        first = await record_check(api, people.ops, flaky["id"], {"network": "掉线"})
        await api.post(
            f"{DEVICES}/repairs/{first['repair_id']}/close",
            json={"resolution": "重启"},
            headers=if_match(people.ops, 1),
        )
        await record_check(api, people.ops, flaky["id"], {"network": "又掉线"})
        await record_check(api, people.ops, once["id"], {"display": None})

        result = await stats(api, people.ops.headers, **{"from": str(TODAY), "to": str(TODAY)})

        assert [(r["asset_tag"], r["repairs"]) for r in result["repeated_faults"]] == [("FLAKY-1", 2)]


class TestRejectedRange:
    """Bad ranges: a 422 problem naming the parameter, and nothing stored."""

    @pytest.mark.parametrize(
        ("params", "field", "says"),
        [
            pytest.param(
                {"from": str(TODAY), "to": str(TODAY - timedelta(days=1))},
                "query.from",
                "on or before",
                id="from-after-to",
            ),
            pytest.param(
                {"from": str(TODAY - timedelta(days=367)), "to": str(TODAY)},
                "query.to",
                "at most one year",
                id="over-a-year",
            ),
            pytest.param({"bucket": "day"}, "query.bucket", "", id="unknown-bucket"),
            pytest.param({"from": "last-monday"}, "query.from", "", id="from-not-a-date"),
        ],
    )
    async def test_is_422(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        params: dict[str, str],
        field: str,
        says: str,
    ) -> None:
        before = await counts(stack)
        response = await api.get(STATS, params=params, headers=people.ops.headers)
        problem = assert_problem(response, 422, field=field)
        assert says in problem["detail"]
        assert await counts(stack) == before

    async def test_exactly_one_year_is_accepted(self, api: httpx.AsyncClient, people: People) -> None:
        start = TODAY - timedelta(days=365)
        end = start.replace(year=start.year + 1) if not (start.month == 2 and start.day == 29) else TODAY
        result = await stats(
            api, people.ops.headers, **{"from": str(start), "to": str(end), "bucket": "month"}
        )
        assert result["total"] == 0
