"""The clients part of the team lead's business report (procedure step 11), over a period.

New clients by acquisition channel and by tier, tier movements (from → to) recorded in the period,
and complaints received in the period by their current status. Team leads see their team, admins
everyone; agents have no business report (403: roles are not secret).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from crmkit.auth import Role, require_roles
from crmkit.periods import Count, period
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.dependencies import ReaderDep, SessionDep, ToolsDep
from services.clients.models import Client, Complaint, TierChange
from services.clients.repository import visible_client_ids, visible_to

router = APIRouter(
    prefix="/api/v1/clients/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


class TierMovement(BaseModel):
    from_tier: str | None
    to_tier: str | None
    count: int


class ClientsReport(BaseModel):
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    new_clients: int
    new_clients_by_channel: list[Count]
    new_clients_by_tier: list[Count] = Field(description="Current tier; `unassessed` when none yet.")
    tier_movements: list[TierMovement]
    complaints_by_status: list[Count] = Field(description="Complaints received in the period, by status now.")


def _between(column: Any, first: date, last: date, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    return [column >= start, column < end]


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
) -> ClientsReport:
    """New clients by channel and tier, tier movements and complaints by status, for your team."""
    first, last = period(from_date, to_date, today=tools.today())
    new = [
        col(Client.deleted_at).is_(None),
        visible_to(principal),
        *_between(col(Client.created_at), first, last, tools.zone),
    ]
    by_channel = await session.execute(
        select(col(Client.channel), func.count())
        .where(*new)
        .group_by(col(Client.channel))
        .order_by(col(Client.channel))
    )
    tier = func.coalesce(col(Client.tier), "unassessed")
    by_tier = await session.execute(select(tier, func.count()).where(*new).group_by(tier).order_by(tier))
    movements = await session.execute(
        select(col(TierChange.from_tier), col(TierChange.to_tier), func.count())
        .where(
            col(TierChange.client_id).in_(visible_client_ids(principal)),
            *_between(col(TierChange.created_at), first, last, tools.zone),
        )
        .group_by(col(TierChange.from_tier), col(TierChange.to_tier))
        .order_by(col(TierChange.from_tier), col(TierChange.to_tier))
    )
    complaints = await session.execute(
        select(col(Complaint.status), func.count())
        .where(
            col(Complaint.client_id).in_(visible_client_ids(principal)),
            *_between(col(Complaint.received_at), first, last, tools.zone),
        )
        .group_by(col(Complaint.status))
        .order_by(col(Complaint.status))
    )
    channels = [Count(key=str(k), count=int(n)) for k, n in by_channel.all()]
    return ClientsReport(
        from_date=first,
        to_date=last,
        new_clients=sum(c.count for c in channels),
        new_clients_by_channel=channels,
        new_clients_by_tier=[Count(key=str(k), count=int(n)) for k, n in by_tier.all()],
        tier_movements=[TierMovement(from_tier=f, to_tier=t, count=int(n)) for f, t, n in movements.all()],
        complaints_by_status=[Count(key=str(k), count=int(n)) for k, n in complaints.all()],
    )
