"""Interactions and the follow-up plan.

Rule chosen for the client's ``next_follow_up_on``: the latest interaction (by ``at``, then by when
it was recorded) decides. Its plan is its own ``next_follow_up_on``; an appointment without one
plans the follow-up on its own date (the appointment *is* the next contact). An interaction without
a plan therefore closes the follow-up. It is re-computed whenever an interaction is added, changed
or removed; like the tier it is derived, so it does not bump the client record's version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page, page_of, read_cursor
from services.clients.errors import InvalidClientField
from services.clients.interactions.schemas import (
    AppointmentRead,
    InteractionCreate,
    InteractionKind,
    InteractionRead,
    InteractionUpdate,
)
from services.clients.models import Client, Interaction
from services.clients.repository import live_and_visible, newest_first
from services.clients.tools import Tools
from services.clients.trail import diff, record_change

RESOURCE = "interaction"
CLOCK_SKEW = timedelta(minutes=5)
REQUIRED_FOR_APPOINTMENT = ("at", "place", "purpose")
MAX_APPOINTMENT_DAYS = 92


def to_read(row: Interaction, tools: Tools) -> InteractionRead:
    return InteractionRead(
        id=row.id,
        client_id=row.client_id,
        kind=InteractionKind(row.kind),
        at=row.at.astimezone(UTC),
        local_date=tools.clock.business_day(row.at),
        place=row.place,
        purpose=row.purpose,
        outcome=row.outcome,
        next_follow_up_on=row.next_follow_up_on,
        recorded_by=row.recorded_by,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def appointment_to_read(row: Interaction, client_name: str, tools: Tools) -> AppointmentRead:
    return AppointmentRead(**to_read(row, tools).model_dump(), client_name=client_name)


def _view(row: Interaction) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "at": row.at.astimezone(UTC).isoformat(),
        "place": row.place,
        "purpose": row.purpose,
        "outcome": row.outcome,
        "next_follow_up_on": row.next_follow_up_on.isoformat() if row.next_follow_up_on else None,
    }


def _aware(moment: datetime, tools: Tools) -> datetime:
    """A time without an offset is the business time zone's wall-clock time."""
    return moment.replace(tzinfo=tools.clock.zone) if moment.tzinfo is None else moment


def _check(row: Interaction, tools: Tools) -> None:
    if row.kind == InteractionKind.APPOINTMENT:
        for name in REQUIRED_FOR_APPOINTMENT:
            if getattr(row, name) is None:
                raise InvalidClientField(name, "an appointment needs its time, place and purpose")
    elif row.at > tools.clock.now() + CLOCK_SKEW:
        raise InvalidClientField("at", f"a {row.kind} is recorded after it happens; schedule an appointment")
    if row.next_follow_up_on is not None and row.next_follow_up_on < tools.clock.business_day(row.at):
        raise InvalidClientField("next_follow_up_on", "cannot be before the interaction itself")


def plan_of(row: Interaction, tools: Tools) -> date | None:
    if row.next_follow_up_on is not None:
        return row.next_follow_up_on
    if row.kind == InteractionKind.APPOINTMENT:
        return tools.clock.business_day(row.at)
    return None


async def refresh_follow_up(*, session: AsyncSession, client: Client, tools: Tools) -> None:
    """The latest interaction's plan becomes the client's next follow-up date."""
    await session.flush()
    stmt = (
        select(Interaction)
        .where(col(Interaction.client_id) == client.id)
        .order_by(col(Interaction.at).desc(), col(Interaction.created_at).desc())
        .limit(1)
    )
    latest = (await session.execute(stmt)).scalar_one_or_none()
    client.next_follow_up_on = plan_of(latest, tools) if latest is not None else None
    await session.flush()


async def record(
    *, session: AsyncSession, principal: Principal, tools: Tools, client: Client, data: InteractionCreate
) -> Interaction:
    now = tools.clock.now()
    if data.kind == InteractionKind.APPOINTMENT and data.at is None:
        raise InvalidClientField("at", "an appointment needs its time, place and purpose")
    row = Interaction(
        client_id=client.id,
        kind=data.kind.value,
        at=_aware(data.at, tools) if data.at else now,
        place=data.place,
        purpose=data.purpose,
        outcome=data.outcome,
        next_follow_up_on=data.next_follow_up_on,
        recorded_by=principal.user_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _check(row, tools)
    session.add(row)
    await refresh_follow_up(session=session, client=client, tools=tools)
    await record_change(
        session,
        principal,
        action="interaction.recorded",
        resource_type=RESOURCE,
        resource_id=row.id,
        after={**_view(row), "client_id": str(client.id)},
    )
    return row


async def update(
    *,
    session: AsyncSession,
    principal: Principal,
    tools: Tools,
    client: Client,
    row: Interaction,
    patch: InteractionUpdate,
) -> Interaction:
    given = patch.model_fields_set
    before = _view(row)
    for name in given:
        value = getattr(patch, name)
        setattr(row, name, _aware(value, tools) if isinstance(value, datetime) else value)
    _check(row, tools)
    old, new = diff(before, _view(row))
    if not new:
        return row
    row.version += 1
    row.updated_at = tools.clock.now()
    await refresh_follow_up(session=session, client=client, tools=tools)
    await record_change(
        session,
        principal,
        action="interaction.updated",
        resource_type=RESOURCE,
        resource_id=row.id,
        before=old,
        after=new,
    )
    return row


async def remove(
    *, session: AsyncSession, principal: Principal, tools: Tools, client: Client, row: Interaction
) -> None:
    before = _view(row)
    await session.delete(row)
    await refresh_follow_up(session=session, client=client, tools=tools)
    await record_change(
        session,
        principal,
        action="interaction.removed",
        resource_type=RESOURCE,
        resource_id=row.id,
        before=before,
    )


async def of_client(
    *,
    session: AsyncSession,
    tools: Tools,
    client: Client,
    kind: InteractionKind | None,
    cursor: str | None,
    limit: int,
) -> Page[InteractionRead]:
    """The client's interactions, latest first, optionally of one kind."""
    conditions = [col(Interaction.client_id) == client.id]
    if kind is not None:
        conditions.append(col(Interaction.kind) == kind.value)
    rows, next_cursor = await newest_first(
        session=session, model=Interaction, conditions=conditions, cursor=cursor, limit=limit, stamp="at"
    )
    return Page(items=[to_read(row, tools) for row in rows], next_cursor=next_cursor)


async def appointments_page(
    *,
    session: AsyncSession,
    principal: Principal,
    tools: Tools,
    first_day: date,
    last_day: date,
    cursor: str | None,
    limit: int,
) -> Page[AppointmentRead]:
    """Appointments of the clients in the caller's scope on these local dates, soonest first."""
    if last_day < first_day:
        raise InvalidClientField("to", "must not be before from")
    if last_day - first_day > timedelta(days=MAX_APPOINTMENT_DAYS):
        raise InvalidClientField("to", f"at most {MAX_APPOINTMENT_DAYS} days at a time")
    conditions = [
        col(Interaction.kind) == InteractionKind.APPOINTMENT.value,
        col(Interaction.at) >= tools.clock.start_of(first_day),
        col(Interaction.at) < tools.clock.start_of(last_day + timedelta(days=1)),
        *live_and_visible(principal),
    ]
    after = read_cursor(cursor, datetime, uuid.UUID)
    if after is not None:
        conditions.append(
            tuple_(col(Interaction.at), col(Interaction.id)) > tuple_(literal(after[0]), literal(after[1]))
        )
    stmt = (
        select(Interaction, col(Client.name))
        .join(Client, col(Client.id) == col(Interaction.client_id))
        .where(*conditions)
        .order_by(col(Interaction.at), col(Interaction.id))
        .limit(limit + 1)
    )
    found = (await session.execute(stmt)).all()
    return page_of(
        found,
        limit,
        key=lambda found_row: (found_row[0].at, found_row[0].id),
        view=lambda found_row: appointment_to_read(found_row[0], str(found_row[1]), tools),
    )
