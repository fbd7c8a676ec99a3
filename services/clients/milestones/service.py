"""Milestones and upcoming dates.

Birthdays come from birth dates (clients and family members); family events from milestones,
one-off or yearly. The window is ``[from, from + within_days]`` in local dates, so it crosses the
year end naturally. Someone born on 29 February (or a yearly event on that day) is greeted on
28 February in years without a 29th — the last day of their month, before the day is gone.
Birth dates and event dates carry a stored month-day number (``229`` for 29 February), so each
source is one indexed ``IN`` query over the window's month-days.
"""

from __future__ import annotations

import calendar
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page, read_cursor, trim
from services.clients.milestones.schemas import (
    MilestoneCreate,
    MilestoneKind,
    MilestoneRead,
    MilestoneUpdate,
    UpcomingDate,
    UpcomingKind,
)
from services.clients.models import Client, FamilyMember, Milestone
from services.clients.repository import child_of, live_and_visible, newest_first
from services.clients.trail import diff, record_change

RESOURCE = "milestone"
LEAP_DAY = 229


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


def month_days(first: date, within_days: int) -> dict[int, list[date]]:
    """Month-day number → the dates in the window it falls on (29 February → 28th in common years)."""
    found: dict[int, list[date]] = defaultdict(list)
    for offset in range(within_days + 1):
        day = first + timedelta(days=offset)
        found[day.month * 100 + day.day].append(day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found[LEAP_DAY].append(day)
    return found


async def upcoming(
    *, session: AsyncSession, principal: Principal, first: date, within_days: int
) -> list[UpcomingDate]:
    """Every birthday and family event in the window, for the clients in the caller's scope."""
    window = month_days(first, within_days)
    last = first + timedelta(days=within_days)
    mds = list(window)
    scope = live_and_visible(principal)
    found: list[UpcomingDate] = []

    def birthday(**fields: Any) -> None:
        for on in window[fields.pop("md")]:
            born: date = fields["born"]
            if on > born:
                found.append(
                    UpcomingDate(
                        on=on,
                        days_away=(on - first).days,
                        kind=UpcomingKind.BIRTHDAY,
                        title=f"{fields['person_name']}'s birthday",
                        turning=on.year - born.year,
                        **{k: v for k, v in fields.items() if k != "born"},
                    )
                )

    clients = select(col(Client.id), col(Client.name), col(Client.birth_date), col(Client.birth_md)).where(
        col(Client.birth_md).in_(mds), *scope
    )
    for client_id, name, born, md in (await session.execute(clients)).all():
        birthday(md=md, born=born, client_id=client_id, client_name=name, person_name=name)

    members = (
        select(FamilyMember, col(Client.name))
        .join(Client, col(Client.id) == col(FamilyMember.client_id))
        .where(col(FamilyMember.birth_md).in_(mds), *scope)
    )
    for member, client_name in (await session.execute(members)).all():
        birthday(
            md=member.birth_md,
            born=member.birth_date,
            client_id=member.client_id,
            client_name=client_name,
            family_member_id=member.id,
            person_name=member.name,
        )

    events = (
        select(Milestone, col(Client.name), col(FamilyMember.name))
        .join(Client, col(Client.id) == col(Milestone.client_id))
        .outerjoin(
            FamilyMember,
            # The client too: the member's key, for a co-located join (docs/scaling.md).
            and_(
                col(FamilyMember.id) == col(Milestone.family_member_id),
                col(FamilyMember.client_id) == col(Milestone.client_id),
            ),
        )
        .where(
            or_(
                col(Milestone.occurs_on).between(first, last),
                and_(col(Milestone.recurs_yearly), col(Milestone.occurs_md).in_(mds)),
            ),
            *scope,
        )
    )
    for event, client_name, member_name in (await session.execute(events)).all():
        dates = window.get(event.occurs_md or 0, []) if event.recurs_yearly else [event.occurs_on]
        for on in dates:
            if on >= event.occurs_on:
                found.append(
                    UpcomingDate(
                        on=on,
                        days_away=(on - first).days,
                        kind=UpcomingKind(event.kind),
                        title=event.title,
                        client_id=event.client_id,
                        client_name=client_name,
                        family_member_id=event.family_member_id,
                        person_name=member_name or client_name,
                        milestone_id=event.id,
                    )
                )
    found.sort(key=sort_key)
    return found


def sort_key(entry: UpcomingDate) -> tuple[str, str, str]:
    """Soonest first; a stable, unique order so a cursor can resume after any entry."""
    subject = entry.milestone_id or entry.family_member_id or entry.client_id
    return (entry.on.isoformat(), entry.kind.value, str(subject))


def page(
    entries: list[UpcomingDate], *, cursor: str | None, limit: int
) -> tuple[Sequence[UpcomingDate], str | None]:
    """The entries after the cursor's (their sort keys are unique), cut to one page."""
    after = read_cursor(cursor, str, str, str)
    if after is not None:
        entries = [e for e in entries if sort_key(e) > after]
    return trim(entries, limit, key=sort_key)


async def upcoming_page(
    *,
    session: AsyncSession,
    principal: Principal,
    first: date,
    within_days: int,
    cursor: str | None,
    limit: int,
) -> Page[UpcomingDate]:
    """Birthdays and family events from ``first`` to ``first + within_days``, soonest first."""
    entries = await upcoming(session=session, principal=principal, first=first, within_days=within_days)
    items, next_cursor = page(entries, cursor=cursor, limit=limit)
    return Page(items=list(items), next_cursor=next_cursor)


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
