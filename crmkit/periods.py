"""Reporting periods from ``?from=&to=`` query parameters, and the key/count rows reports are made of.

Every business report (each service's part and the gateway's whole) takes the same period rules:
defaults are the first of this month and today in the business time zone; ``to`` is included;
reversed, too long or absurd dates are a 422 naming the parameter.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from crmkit.clock import IsoDate
from crmkit.problems import FieldError, Unprocessable

MAX_PERIOD_DAYS = 366
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


FromQuery = Annotated[
    IsoDate | None, Query(alias="from", description="First day (default: 1st of the month).")
]
ToQuery = Annotated[IsoDate | None, Query(alias="to", description="Last day, included (default: today).")]
"""``?from=&to=`` of every report: ``from_date: FromQuery = None, to_date: ToQuery = None``."""


class Count(BaseModel):
    """One row of a tally: a key (a status, a channel, a tier…) and how many."""

    key: str
    count: int


def _refuse(parameter: str, message: str) -> Unprocessable:
    field = f"query.{parameter}"
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def period(first: date | None, last: date | None, *, today: date) -> tuple[date, date]:
    """``from``/``to`` with their defaults (the 1st of the month of ``to``, today); 422 when reversed,
    longer than a year, or outside 1900-2999."""
    last = last or today
    first = first or last.replace(day=1)
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            raise _refuse(name, f"must be between {EARLIEST} and {LATEST}")
    if last < first:
        raise _refuse("to", "must not be before from")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise _refuse("to", f"a report covers at most {MAX_PERIOD_DAYS} days")
    return first, last
