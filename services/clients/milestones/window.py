"""The upcoming-dates window as month-day runs, and where a cursor resumes in one.

Birth dates and yearly events are found by their stored month-day number (``1231`` for 31 December,
``229`` for 29 February). A window of local dates splits into *runs*: consecutive days of one
calendar year, whose month-days sort exactly like the days. So each run is one index range scan
``md BETWEEN first_md AND last_md ORDER BY md, ...`` that can stop after a page, and the runs come
in the window's order: 28 December → 3 January is ``1228..1231`` of one year, then ``101..103`` of
the next. 29 February of a common year has no day of its own: it is greeted on the 28th, a run of
its own (``229..229`` on 28 February) between the 28th and 1 March.

Someone is greeted on a run's day only after being born (a yearly event: from its first date on).
Their month-day is the day's, so that is a comparison of years: born before 1 January of the run's
year (an event dated before the next 1 January).
"""

from __future__ import annotations

import calendar
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

LEAP_DAY = 229


def month_day(day: date) -> int:
    return day.month * 100 + day.day


def month_days(first: date, within_days: int) -> dict[int, list[date]]:
    """Month-day number → the dates in the window it falls on (29 February → 28th in common years)."""
    found: dict[int, list[date]] = defaultdict(list)
    for offset in range(within_days + 1):
        day = first + timedelta(days=offset)
        found[month_day(day)].append(day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found[LEAP_DAY].append(day)
    return found


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive days of one year in the window, as the month-day range ``first_md..last_md``."""

    year: int
    first_md: int
    last_md: int

    def on(self, md: int) -> date:
        """The day of the window a month-day of this run falls on."""
        if md == LEAP_DAY and not calendar.isleap(self.year):
            return date(self.year, 2, 28)
        return date(self.year, md // 100, md % 100)

    @property
    def first_day(self) -> date:
        return self.on(self.first_md)

    @property
    def last_day(self) -> date:
        return self.on(self.last_md)

    @property
    def born_before(self) -> date:
        """Birthdays in this run are of people born before this day (1 January of its year)."""
        return date(self.year, 1, 1)

    @property
    def begun_before(self) -> date:
        """Yearly events in this run are those first dated before this day (the next 1 January)."""
        return date(self.year + 1, 1, 1)


def runs(first: date, within_days: int) -> list[Run]:
    """The window ``[first, first + within_days]`` as runs, in the order of their days."""
    found: list[Run] = []
    start: date | None = None
    day = first
    last = first + timedelta(days=within_days)
    while day <= last:
        start = start or day
        leap_day_guests = day.month == 2 and day.day == 28 and not calendar.isleap(day.year)
        if day == last or leap_day_guests or day.year != (day + timedelta(days=1)).year:
            found.append(Run(day.year, month_day(start), month_day(day)))
            if leap_day_guests:
                found.append(Run(day.year, LEAP_DAY, LEAP_DAY))
            start = None
        day += timedelta(days=1)
    return found


@dataclass(frozen=True, slots=True)
class After:
    """A cursor (the last entry's day, kind and subject) inside one run of the window."""

    md: int
    """The month-day of the cursor's day in this run."""
    kind: str
    subject: uuid.UUID


Cursor = tuple[date, str, uuid.UUID]


def passed(run: Run, cursor: Cursor | None) -> bool:
    """The whole run comes before the cursor: nothing of it is on the page."""
    return cursor is not None and cursor[0] > run.last_day


def after_in(run: Run, cursor: Cursor | None) -> After | None:
    """Where the page resumes inside ``run`` (one not ``passed``); ``None`` from its start (no
    cursor, or a cursor on a day before the run)."""
    if cursor is None or cursor[0] < run.first_day:
        return None
    on, kind, subject = cursor
    md = run.first_md if run.first_md == run.last_md else month_day(on)
    return After(md=md, kind=kind, subject=subject)
