"""Milestones and upcoming dates.

Birthdays come from birth dates (clients and family members); family events from milestones,
one-off or yearly. The window is ``[from, from + within_days]`` in local dates, so it crosses the
year end naturally. Someone born on 29 February (or a yearly event on that day) is greeted on
28 February in years without a 29th — the last day of their month, before the day is gone.
Birth dates and event dates carry a stored month-day number (``229`` for 29 February), so each
source is an indexed range of month-days per year of the window, read a page at a time
(``upcoming.py``, ``window.py``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page
from services.clients.milestones.schemas import (
    MilestoneCreate,
    MilestoneKind,
    MilestoneRead,
    MilestoneUpdate,
    UpcomingDate,
)
from services.clients.milestones.upcoming import Upcoming
from services.clients.models import Client, FamilyMember, Milestone
from services.clients.repository import child_of, newest_first
from services.clients.trail import diff, record_change

RESOURCE = "milestone"


def to_read(row: Milestone) -> MilestoneRead:
    return MilestoneRead(
        id=row.id,
        client_id=row.client_id,
        family_member_id=row.family_member_id,
        kind=MilestoneKind(row.kind),
        title=row.title,
        occurs_on=row.occurs_on,
        recurs_yearly=row.recurs_yearly,
        notes=row.notes,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _view(row: Milestone) -> dict[str, Any]:
    return to_read(row).model_dump(
        mode="json", include={"kind", "title", "occurs_on", "recurs_yearly", "family_member_id", "notes"}
    )


async def _check_member(*, session: AsyncSession, client: Client, member_id: uuid.UUID | None) -> None:
    if member_id is not None:
        await child_of(
            session=session, model=FamilyMember, row_id=member_id, client_id=client.id, what="family member"
        )


async def add(
    *, session: AsyncSession, principal: Principal, client: Client, data: MilestoneCreate
) -> Milestone:
    await _check_member(session=session, client=client, member_id=data.family_member_id)
    now = datetime.now(UTC)
    row = Milestone(
        client_id=client.id,
        owner_agent_id=client.owner_agent_id,  # carried: services/clients/owners.py
        team_id=client.team_id,
        family_member_id=data.family_member_id,
        kind=data.kind.value,
        title=data.title,
        occurs_on=data.occurs_on,
        recurs_yearly=data.recurs_yearly,
        notes=data.notes,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await record_change(
        session,
        principal,
        action="milestone.added",
        resource_type=RESOURCE,
        resource_id=row.id,
        after={**_view(row), "client_id": str(client.id)},
    )
    return row


async def update(
    *, session: AsyncSession, principal: Principal, client: Client, row: Milestone, patch: MilestoneUpdate
) -> Milestone:
    given = patch.model_fields_set
    if "family_member_id" in given:
        await _check_member(session=session, client=client, member_id=patch.family_member_id)
    before = _view(row)
    for name in given:
        value = getattr(patch, name)
        setattr(row, name, value.value if isinstance(value, StrEnum) else value)
    old, new = diff(before, _view(row))
    if not new:
        return row
    row.version += 1
    row.updated_at = datetime.now(UTC)
    await session.flush()
    await record_change(
        session,
        principal,
        action="milestone.updated",
        resource_type=RESOURCE,
        resource_id=row.id,
        before=old,
        after=new,
    )
    return row


async def remove(*, session: AsyncSession, principal: Principal, row: Milestone) -> None:
    before = _view(row)
    await session.delete(row)
    await session.flush()
    await record_change(
        session,
        principal,
        action="milestone.removed",
        resource_type=RESOURCE,
        resource_id=row.id,
        before=before,
    )


async def upcoming_page(
    *,
    session: AsyncSession,
    principal: Principal,
    first: date,
    within_days: int,
    cursor: str | None,
    limit: int,
) -> Page[UpcomingDate]:
    """Birthdays and family events from ``first`` to ``first + within_days``, soonest first: one
    page, read through indexes (see ``upcoming.py``)."""
    window = Upcoming(session=session, principal=principal, first=first, within_days=within_days)
    return await window.page(cursor=cursor, limit=limit)


async def of_client(
    *, session: AsyncSession, client: Client, cursor: str | None, limit: int
) -> Page[MilestoneRead]:
    """The client's recorded family events, newest first."""
    rows, next_cursor = await newest_first(
        session=session,
        model=Milestone,
        conditions=[col(Milestone.client_id) == client.id],
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[to_read(row) for row in rows], next_cursor=next_cursor)
