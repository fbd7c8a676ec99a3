"""The business clock: "now" in UTC, "today" and deadlines in the business time zone.

Every service takes its dates from one of these (the seeds' deadlines — cooling-off, weekly
claim updates, follow-ups — are calendar days where the agency works, Asia/Shanghai by default).
Tests and background jobs may inject ``now`` to move time without sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_MOMENT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD`` (or a date): pydantic would also read ``0`` or ``"0"`` as 1970-01-01."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("a date is written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("a date is written YYYY-MM-DD, not as a number")
    return value


def _iso_moment(value: object) -> object:
    """Only RFC 3339 text (or a datetime): never a number of seconds since 1970."""
    if isinstance(value, str) and not _ISO_MOMENT.match(value):
        raise ValueError("a date and time is written as RFC 3339, e.g. 2026-12-01T09:30:00+08:00")
    if isinstance(value, int | float):
        raise ValueError("a date and time is written as RFC 3339, not as a number")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date from a request: ``YYYY-MM-DD`` only."""


def _plausible(moment: datetime) -> datetime:
    """A moment a business record can hold: 1900-2999 in UTC. ``0001-01-01T00:00+14:00`` is valid
    ISO 8601 but falls before year 1 in UTC, which no database column or clock can represent."""
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


Moment = Annotated[datetime, BeforeValidator(_iso_moment), AfterValidator(_plausible)]
"""A date and time from a request (naive ones are read in the business time zone by the service)."""
AwareMoment = Annotated[AwareDatetime, BeforeValidator(_iso_moment), AfterValidator(_plausible)]
"""The same, with its offset required."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BusinessClock:
    zone: ZoneInfo
    now: Callable[[], datetime] = field(default=utc_now)

    def today(self) -> date:
        """Today where the agency works: every deadline and "not in the future" check uses it."""
        return self.now().astimezone(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        """``moment`` on the business wall clock."""
        return moment.astimezone(self.zone)

    def business_day(self, moment: datetime) -> date:
        """The business-local date of an instant."""
        return moment.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """Midnight of a business-local date, as an aware instant."""
        return datetime.combine(day, time.min, tzinfo=self.zone)
