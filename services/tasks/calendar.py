"""Festivals and milestones: who to greet, and when.

Festivals by their real dates each year (seed manual §五.3: greet clients on festivals, birthdays
and family milestones):

- Spring Festival (春节): the first day of the first lunar month;
- Mid-Autumn Festival (中秋节): the 15th day of the 8th lunar month;
- National Day (国庆节): 1 October.

Lunar dates come from ``lunardate`` (a maintained package with tables for 1900 to 2099), e.g. the
Spring Festival falls on 2025-01-29, 2026-02-17, 2027-02-06. Birthdays and family milestones come
from the clients service (``GET /api/v1/clients/milestones/upcoming``, the caller's clients).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from lunardate import LunarDate

from services.tasks.peers import Peers
from services.tasks.schemas import Festival, GreetingEntry, GreetingList, Occasion

FIRST_DAY = date(1900, 1, 31)
LAST_DAY = date(2099, 12, 31)
"""The days ``lunardate`` knows (its tables run from the lunar new year of 1900 through 2099)."""

NAMES = {
    Occasion.SPRING_FESTIVAL: "春节",
    Occasion.MID_AUTUMN: "中秋节",
    Occasion.NATIONAL_DAY: "国庆节",
}


def festivals_of(year: int) -> list[Festival]:
    return [
        Festival(
            occasion=Occasion.SPRING_FESTIVAL,
            name=NAMES[Occasion.SPRING_FESTIVAL],
            on=LunarDate(year, 1, 1).to_solar_date(),
        ),
        Festival(
            occasion=Occasion.MID_AUTUMN,
            name=NAMES[Occasion.MID_AUTUMN],
            on=LunarDate(year, 8, 15).to_solar_date(),
        ),
        Festival(occasion=Occasion.NATIONAL_DAY, name=NAMES[Occasion.NATIONAL_DAY], on=date(year, 10, 1)),
    ]


def festivals_between(first: date, last: date) -> list[Festival]:
    return sorted(
        (
            f
            for year in range(max(first.year, FIRST_DAY.year), min(last.year, LAST_DAY.year) + 1)
            for f in festivals_of(year)
            if first <= f.on <= last
        ),
        key=lambda f: f.on,
    )


def _entry(item: dict[str, Any]) -> GreetingEntry:
    return GreetingEntry(
        client_id=item["client_id"],
        client_name=item["client_name"],
        occasion=Occasion.BIRTHDAY if item["kind"] == "birthday" else Occasion.MILESTONE,
        on=item["on"],
        title=item["title"],
    )


async def greeting_list(*, peers: Peers, first: date, days: int) -> GreetingList:
    last = first + timedelta(days=days)
    upcoming = await peers.upcoming(first, days)
    return GreetingList(
        date=first,
        days=days,
        festivals=festivals_between(first, last),
        items=[_entry(item) for item in upcoming],
    )
