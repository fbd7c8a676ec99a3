"""The policies part of the team lead's business report (procedure step 11), over a period.

Proposals and applications created in the period by their current state, policies issued in the
period with their annual premium, and cancellations within the cooling-off period. Team leads see
their team, admins everyone; agents have no business report (403: roles are not secret).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from crmkit.auth import Role, require_roles
from crmkit.periods import Count, period
from crmkit.problems import PROBLEM_RESPONSES
from services.policies.dependencies import ReaderDep, SessionDep, ToolsDep
from services.policies.models import Application, Policy, Proposal
from services.policies.repository import visible_to

CENT = Decimal("0.01")

router = APIRouter(
    prefix="/api/v1/policies/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


class PoliciesReport(BaseModel):
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    proposals_by_status: list[Count] = Field(description="Proposals created in the period, by status now.")
    applications_by_status: list[Count] = Field(
        description="Applications created in the period, by status now."
    )
    policies_issued: int
    annual_premium_issued: Decimal = Field(description="Sum of the annual premiums of those policies (CNY).")
    cooling_off_cancellations: int = Field(description="Policies cancelled within cooling-off in the period.")
    cooling_off_refunds: Decimal


def _created_between(model: Any, first: date, last: date, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    return [col(model.created_at) >= start, col(model.created_at) < end]


async def _by_status(session: SessionDep, model: Any, where: list[ColumnElement[bool]]) -> list[Count]:
    rows = await session.execute(
        select(col(model.status), func.count())
        .where(*where)
        .group_by(col(model.status))
        .order_by(col(model.status))
    )
    return [Count(key=str(k), count=int(n)) for k, n in rows.all()]


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
) -> PoliciesReport:
    """Proposals and applications by state, policies issued and annual premium, cooling-off cancellations."""
    first, last = period(from_date, to_date, today=tools.today())
    zone = tools.settings.zone
    proposals = await _by_status(
        session, Proposal, [visible_to(Proposal, principal), *_created_between(Proposal, first, last, zone)]
    )
    applications = await _by_status(
        session,
        Application,
        [visible_to(Application, principal), *_created_between(Application, first, last, zone)],
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
