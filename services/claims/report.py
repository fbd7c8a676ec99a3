"""The claims part of the team lead's business report (procedure step 11), over a period.

Claims reported in the period (and by their status now), claims paid in the period with the sum
paid and the average days from report to payment. Team leads see their team, admins everyone;
agents have no business report (403: roles are not secret).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import col

from crmkit.auth import Role, require_roles
from crmkit.periods import Count, period
from crmkit.problems import PROBLEM_RESPONSES
from services.claims.dependencies import ReaderDep, SessionDep, ToolsDep
from services.claims.models import Claim
from services.claims.repository import visible_to

CENT = Decimal("0.01")

router = APIRouter(
    prefix="/api/v1/claims/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


class ClaimsReport(BaseModel):
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    claims_opened: int = Field(description="Claims reported in the period.")
    opened_by_status: list[Count] = Field(description="Those claims by their status now.")
    claims_paid: int = Field(description="Claims paid in the period.")
    amount_paid: Decimal
    average_days_to_pay: Decimal | None = Field(description="From report to payment, for the claims paid.")


@router.get("/business", response_model_by_alias=True)
async def business_report(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    from_date: Annotated[
        date | None, Query(alias="from", description="First day (default: 1st of the month).")
    ] = None,
    to_date: Annotated[
        date | None, Query(alias="to", description="Last day, included (default: today).")
    ] = None,
) -> ClaimsReport:
    """Claims opened and paid, the amount paid and the average days to pay, for your team."""
    first, last = period(from_date, to_date, today=tools.today())
    opened = await session.execute(
        select(col(Claim.status), func.count())
        .where(visible_to(principal), col(Claim.reported_on).between(first, last))
        .group_by(col(Claim.status))
        .order_by(col(Claim.status))
    )
    by_status = [Count(key=str(k), count=int(n)) for k, n in opened.all()]
    paid_count, paid_sum, days = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(col(Claim.paid_amount)), 0),
                func.avg(col(Claim.paid_on) - col(Claim.reported_on)),
            ).where(
                visible_to(principal), col(Claim.status) == "paid", col(Claim.paid_on).between(first, last)
            )
        )
    ).one()
    return ClaimsReport(
        from_date=first,
        to_date=last,
        claims_opened=sum(c.count for c in by_status),
        opened_by_status=by_status,
        claims_paid=int(paid_count),
        amount_paid=Decimal(paid_sum).quantize(CENT),
        average_days_to_pay=None if days is None else Decimal(days).quantize(Decimal("0.1")),
    )
