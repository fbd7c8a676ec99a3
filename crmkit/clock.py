"""The business clock: "now" in UTC, "today" and deadlines in the business time zone.

Every service takes its dates from one of these (the seeds' deadlines — cooling-off, weekly
claim updates, follow-ups — are calendar days where the agency works, Asia/Shanghai by default).
Tests and background jobs may inject ``now`` to move time without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


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
