"""The claims part of the team lead's business report (procedure step 11), over a period.

Claims reported in the period (and by their status now), claims paid in the period with the sum
paid and the average days from report to payment. Team leads see their team, admins everyone;
agents have no business report (403: roles are not secret). The route is in ``router.py``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.periods import Count, period
from services.claims.models import Claim
from services.claims.repository import visible_to
from services.claims.schemas import ClaimsReport
from services.claims.transitions import ClaimStatus

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


async def opened_by_status(
    *, session: AsyncSession, principal: Principal, first: date, last: date
) -> list[Count]:
    """Claims reported between ``first`` and ``last`` (included), by their status now."""
    rows = await session.execute(
        select(col(Claim.status), func.count())
        .where(visible_to(principal), col(Claim.reported_on).between(first, last))
        .group_by(col(Claim.status))
        .order_by(col(Claim.status))
    )
    return [Count(key=str(status), count=int(n)) for status, n in rows.all()]


async def paid_in(
    *, session: AsyncSession, principal: Principal, first: date, last: date
) -> tuple[int, Decimal, Decimal | None]:
    """Claims paid in the period: how many, the sum paid, the average days from report to payment."""
    count, total, days = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(col(Claim.paid_amount)), 0),
                func.avg(col(Claim.paid_on) - col(Claim.reported_on)),
            ).where(
                visible_to(principal),
                col(Claim.status) == ClaimStatus.PAID.value,
                col(Claim.paid_on).between(first, last),
            )
        )
    ).one()
    return int(count), Decimal(total).quantize(CENT), None if days is None else Decimal(days).quantize(TENTH)


async def business_report(
    *, session: AsyncSession, principal: Principal, from_date: date | None, to_date: date | None, today: date
) -> ClaimsReport:
    """Claims opened and paid, the amount paid and the average days to pay, in the caller's scope."""
    first, last = period(from_date, to_date, today=today)
    by_status = await opened_by_status(session=session, principal=principal, first=first, last=last)
    paid, amount, days = await paid_in(session=session, principal=principal, first=first, last=last)
    return ClaimsReport(
        from_date=first,
        to_date=last,
        claims_opened=sum(c.count for c in by_status),
        opened_by_status=by_status,
        claims_paid=paid,
        amount_paid=amount,
        average_days_to_pay=days,
    )
