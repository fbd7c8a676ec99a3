"""The clients part of an agent's agenda in one call: what the gateway's agenda view shows."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from services.clients import service as clients
from services.clients.interactions import service as interactions
from services.clients.milestones import service as milestones
from services.clients.schemas import AgendaLists
from services.clients.tools import Tools


async def agenda_lists(
    *, session: AsyncSession, principal: Principal, tools: Tools, day: date, within_days: int, limit: int
) -> AgendaLists:
    """The first page of each list, soonest first: appointments on ``day``, follow-ups due by it,
    birthdays and family events in the ``within_days`` after it."""
    return AgendaLists(
        appointments=await interactions.appointments_page(
            session=session,
            principal=principal,
            tools=tools,
            first_day=day,
            last_day=day,
            cursor=None,
            limit=limit,
        ),
        follow_ups=await clients.list_follow_ups_due(
            session=session, principal=principal, due_by=day, limit=limit, cursor=None
        ),
        upcoming=await milestones.upcoming_page(
            session=session, principal=principal, first=day, within_days=within_days, cursor=None, limit=limit
        ),
    )
