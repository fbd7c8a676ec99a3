"""The policies part of the team lead's business report (procedure step 11), over a period.

Proposals and applications created in the period by their current state, policies issued in the
period with their annual premium, and cancellations within the cooling-off period. Team leads see
their team, admins everyone; agents have no business report (403: roles are not secret).
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
from services.policies.models import Application, Policy, Proposal
from services.policies.repository import visible_to
from services.policies.schemas import PoliciesReport

CENT = Decimal("0.01")


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
        [visible_to(Application, principal), *_created_between(Application, first, last, clock)],
    )
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
        policies_issued=int(issued_count),
        annual_premium_issued=Decimal(issued_premium or 0).quantize(CENT),
        cooling_off_cancellations=int(cancelled_count),
        cooling_off_refunds=Decimal(refunds or 0).quantize(CENT),
    )
