"""The clients part of an agent's agenda in one call: what the gateway's agenda view shows."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crmkit.auth import Role, require_roles
from crmkit.pagination import DEFAULT_LIMIT, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.dependencies import ReaderDep, SessionDep, ToolsDep
from services.clients.interactions.router import appointments, follow_ups_due
from services.clients.interactions.schemas import AppointmentRead
from services.clients.milestones.router import upcoming_dates
from services.clients.milestones.schemas import UpcomingDate
from services.clients.schemas import ClientPage

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["interactions"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


class AgendaLists(BaseModel):
    """Appointments on the day, follow-ups due by it, birthdays and family events in the days after."""

    appointments: Page[AppointmentRead]
    follow_ups: ClientPage
    upcoming: Page[UpcomingDate]


@router.get("/agenda-lists")
async def list_agenda_lists(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    day: Annotated[date | None, Query(alias="date", description="The day (default: today).")] = None,
    within_days: Annotated[int, Query(ge=0, le=366, description="Days of birthdays and events.")] = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AgendaLists:
    """The three lists at once, the first page of each, soonest first (what the agenda shows)."""
    day = day or tools.today()
    return AgendaLists(
        appointments=await appointments(
            principal=principal,
            session=session,
            tools=tools,
            from_date=day,
            to_date=day,
            limit=limit,
            cursor=None,
        ),
        follow_ups=await follow_ups_due(
            principal=principal, session=session, tools=tools, due_by=day, limit=limit, cursor=None
        ),
        upcoming=await upcoming_dates(
            principal=principal,
            session=session,
            tools=tools,
            within_days=within_days,
            from_date=day,
            limit=limit,
            cursor=None,
        ),
    )
