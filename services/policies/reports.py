"""The policies part of the team lead's business report (procedure step 11), over a period.

Every figure counts by one date basis (``DATE_BASES``, repeated in the response and next to each
figure in the OpenAPI description), so two figures never disagree for want of saying which date
they count: a proposal by the day it was made, an application cohort by the day the client signed
it (``applied_on``), submissions, decisions and issues by the insurer's own dates, cancellations by
their date. Team leads see their team, admins everyone; agents have no business report (403).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from crmkit.periods import Count
from services.policies import annual_review
from services.policies.models import Application, Policy, Proposal
from services.policies.repository import visible_to
from services.policies.schemas import PoliciesReport

CENT = Decimal("0.01")

DATE_BASES: dict[str, str] = {
    "proposals_by_status": "created_at",
    "applications_by_status": "applied_on",
    "applications_submitted": "submitted_on",
    "applications_decided": "decided_on",
    "policies_issued": "issued_on",
    "annual_premium_issued": "issued_on",
    "cooling_off_cancellations": "ended_on",
    "cooling_off_refunds": "ended_on",
    "annual_reviews_held": "reviewed_on",
}
"""Figure → the one date it counts by."""

DECISION_OUTCOMES = {"declined": "declined", "postponed": "postponed"}
"""An application's status → its underwriting outcome; any other status with a decision date was
approved (and may since be issued or withdrawn)."""


def _created_between(model: Any, first: date, last: date, clock: BusinessClock) -> list[ColumnElement[bool]]:
    """Created on a business-local day from ``first`` to ``last`` included."""
    start, end = clock.start_of(first), clock.start_of(last + timedelta(days=1))
    return [col(model.created_at) >= start, col(model.created_at) < end]


async def _by_status(session: AsyncSession, model: Any, where: list[ColumnElement[bool]]) -> list[Count]:
    rows = await session.execute(
        select(col(model.status), func.count())
        .where(*where)
        .group_by(col(model.status))
        .order_by(col(model.status))
    )
    return [Count(key=str(k), count=int(n)) for k, n in rows.all()]


async def business_report(
    *, session: AsyncSession, principal: Principal, clock: BusinessClock, first: date, last: date
) -> PoliciesReport:
    """Proposals and applications by state, policies issued and annual premium, cooling-off cancellations."""
    proposals = await _by_status(
        session, Proposal, [visible_to(Proposal, principal), *_created_between(Proposal, first, last, clock)]
    )
    applications = await _by_status(
        session,
        Application,
        [visible_to(Application, principal), col(Application.applied_on).between(first, last)],
    )
    submitted = (
        await session.execute(
            select(func.count()).where(
                visible_to(Application, principal), col(Application.submitted_on).between(first, last)
            )
        )
    ).scalar_one()
    decided: dict[str, int] = {}
    for row in await _by_status(
        session,
        Application,
        [visible_to(Application, principal), col(Application.decided_on).between(first, last)],
    ):
        outcome = DECISION_OUTCOMES.get(row.key, "approved")
        decided[outcome] = decided.get(outcome, 0) + row.count
    issued_count, issued_premium = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(col(Policy.annual_premium)), 0)).where(
                visible_to(Policy, principal), col(Policy.issued_on).between(first, last)
            )
        )
    ).one()
    cancelled_count, refunds = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(col(Policy.refund_amount)), 0)).where(
                visible_to(Policy, principal),
                col(Policy.status) == "cancelled",
                col(Policy.ended_on).between(first, last),
            )
        )
    ).one()
    return PoliciesReport(
        from_date=first,
        to_date=last,
        proposals_by_status=proposals,
        applications_by_status=applications,
        applications_submitted=int(submitted),
        applications_decided=[Count(key=k, count=n) for k, n in sorted(decided.items())],
        policies_issued=int(issued_count),
        annual_premium_issued=Decimal(issued_premium or 0).quantize(CENT),
        cooling_off_cancellations=int(cancelled_count),
        cooling_off_refunds=Decimal(refunds or 0).quantize(CENT),
        annual_reviews_held=await annual_review.reviews_held(
            session=session, principal=principal, first=first, last=last
        ),
        date_bases=DATE_BASES,
    )
