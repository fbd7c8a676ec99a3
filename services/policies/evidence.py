"""Insurer decisions carry evidence: the insurer's reference and dates in their real order.

The order an application's dates must keep (issue 16, item 5):

    applied ≤ submitted ≤ decided ≤ issued ≤ receipt signed ≤ return visit ≤ today

``applied_on`` is the day the client signed the application (投保日; default the day it is
recorded, never in the future): nothing the insurer did for it can be earlier. An agent entering
a paper application after the fact gives its real date, which the audit trail keeps.

A violation answers 422 on the later field, naming both dates, e.g.
``issued_on 2020-01-01 is before applied_on 2026-11-30``. The effective date (生效日) is the
contract's own term and stays outside the chain: an insurer may back-date it to the application
or start cover later (保险法 §14: the insurer bears the risk "at the agreed time").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from services.policies.errors import InvalidField
from services.policies.models import Application

InsurerReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(
        description="The insurer's reference for its decision (核保结论/承保通知书 number, claim decision "
        "letter...): the evidence the agent copied the decision from.",
        examples=["UW-2026-000123"],
    ),
]

Dated = tuple[str, date | None]
"""A named date of the chain (``("submitted_on", day)``); ``None`` when not reached yet."""


def ensure_order(field: str, day: date, *, after: Sequence[Dated], today: date) -> None:
    """``day`` (the value of ``field``) is not in the future and not before any earlier date."""
    if day > today:
        raise InvalidField(
            field, f"{field} {day.isoformat()} is in the future (today is {today.isoformat()})"
        )
    for earlier_field, earlier in after:
        if earlier is not None and day < earlier:
            raise InvalidField(
                field, f"{field} {day.isoformat()} is before {earlier_field} {earlier.isoformat()}"
            )


def application_chain(application: Application) -> list[Dated]:
    """The application's dates so far, latest last."""
    return [
        ("applied_on", application.applied_on),
        ("submitted_on", application.submitted_on),
        ("decided_on", application.decided_on),
    ]
