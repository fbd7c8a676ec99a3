"""The event outbox: each app's audit log, read in commit order with a cursor that never skips.

Every state change already writes an audit row in its own transaction (``crmkit.audit.record``),
so the audit log *is* the outbox: an event exists exactly when its change committed. Rows carry
the id of the transaction that wrote them (``txid``). A reader returns only rows whose
transaction is older than every transaction still running (``txid < pg_snapshot_xmin(...)``),
ordered by ``(txid, id)``; a transaction that started earlier but commits later is therefore
never jumped over (a plain ``occurred_at > t`` or ``id > n`` cursor would skip it for good).
The price: while a transaction stays open, rows of later transactions wait behind it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Table, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal, PrincipalDep, Role
from crmkit.db import SessionDep
from crmkit.problems import PROBLEM_RESPONSES, FieldError, Forbidden, Unprocessable

EVENTS_SCOPE = "events:read"
"""The scope of the gateway's own short-lived token for pulling ``/events`` (with the admin role)."""
MAX_EVENTS_LIMIT = 500
MAX_TXID = 2**63 - 1


class Position(NamedTuple):
    """Where a reader stands: the last row read, in commit order."""

    txid: int
    id: int


def encode_position(position: Position) -> str:
    raw = json.dumps(["e1", position.txid, position.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def decode_position(cursor: str | None, *, field: str) -> Position | None:
    """A cursor this API issued, or a 422 naming the query parameter."""
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != 3
        or values[0] != "e1"
        or not all(type(v) is int and 0 <= v <= MAX_TXID for v in values[1:])
    ):
        raise _bad_cursor(field, "not a cursor this API issued")
    return Position(values[1], values[2])


async def visible_horizon(session: AsyncSession) -> int:
    """The oldest transaction still running: every row below it is committed or gone for good."""
    horizon = select(func.pg_snapshot_xmin(func.pg_current_snapshot()))
    return int((await session.execute(horizon)).scalar_one())


async def check_not_ahead(session: AsyncSession, position: Position | None, *, field: str) -> None:
    """A cursor at or past the horizon was never issued (the horizon only moves forward): 422."""
    if position is not None and position.txid >= await visible_horizon(session):
        raise _bad_cursor(field, "cursor is ahead of this feed (from the future); sync again from scratch")


@dataclass(frozen=True, slots=True)
class Event:
    position: Position
    id: str
    type: str
    occurred_at: datetime
    action: str
    resource_type: str
    resource_id: uuid.UUID
    data: dict[str, Any] | None
    before: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Publication:
    """How a service publishes its audit rows as events; the names are the service's own.

    ``renamed``: (resource type, action) as audited → (resource type, event type) as published,
    where an audited action does not already read ``<resource>.<what happened>``.
    ``by_status``: an action whose ``after.status`` names what happened → status → event type.
    ``not_events``: audited actions that record a read (an audited reveal), never an event.
    """

    renamed: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    by_status: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    not_events: frozenset[str] = frozenset()

    def published_as(self, resource_type: str, action: str, after: dict[str, Any] | None) -> tuple[str, str]:
        """(resource type, event type) of one audit row."""
        renamed = self.renamed.get((resource_type, action))
        if renamed is not None:
            return renamed
        by_status = self.by_status.get(action)
        if by_status is not None and after is not None:
            status = after.get("status")
            if isinstance(status, str) and status in by_status:
                return resource_type, by_status[status]
        return resource_type, action


AS_AUDITED = Publication()
"""Every audit row published under its own action name."""


async def read_events(
    session: AsyncSession,
    audit_log: Table,
    *,
    service: str,
    publication: Publication,
    after: Position | None,
    limit: int,
) -> tuple[list[Event], bool]:
    """Up to ``limit`` committed events after ``after`` in commit order, and whether more remain."""
    log = audit_log.c
    horizon = func.pg_snapshot_xmin(func.pg_current_snapshot())
    stmt = select(
        log.id,
        log.txid,
        log.occurred_at,
        log.action,
        log.resource_type,
        log.resource_id,
        log.before,
        log.after,
    ).where(log.txid < horizon, log.action.not_in(publication.not_events))
    if after is not None:
        since = tuple_(literal(after.txid, log.txid.type), literal(after.id))
        stmt = stmt.where(tuple_(log.txid, log.id) > since)
    rows = (await session.execute(stmt.order_by(log.txid, log.id).limit(limit + 1))).all()
    events: list[Event] = []
    for row in rows[:limit]:
        resource_type, event_type = publication.published_as(row.resource_type, row.action, row.after)
        events.append(
            Event(
                position=Position(int(row.txid), row.id),
                id=f"{service}-{row.id}",
                type=event_type,
                occurred_at=row.occurred_at,
                action=row.action,
                resource_type=resource_type,
                resource_id=row.resource_id,
                data=row.after,
                before=row.before,
            )
        )
    return events, len(rows) > limit


class EventResource(BaseModel):
    type: str
    id: uuid.UUID
    data: dict[str, Any] | None = Field(description="The change as audited (personal data masked).")


class EventRead(BaseModel):
    id: str = Field(description="Unique across services: `<service>-<sequence>`.")
    type: str = Field(description="`<resource>.<what happened>`, e.g. `client.created`.")
    occurred_at: datetime
    resource: EventResource


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None = Field(description="Pass as `after` to continue; null before any event.")
    has_more: bool


def event_read(event: Event) -> EventRead:
    return EventRead(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        resource=EventResource(type=event.resource_type, id=event.resource_id, data=event.data),
    )


AfterQuery = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")]
EventsLimit = Annotated[int, Query(ge=1, le=MAX_EVENTS_LIMIT, description="Page size (default 100).")]


async def events_reader(principal: PrincipalDep) -> Principal:
    """Admins, and the gateway's dispatcher token (admin role, ``events:read`` scope)."""
    if principal.role is not Role.ADMIN or not principal.allows(EVENTS_SCOPE):
        raise Forbidden("the event stream is for administrators and the gateway's dispatcher")
    return principal


EventsReader = Annotated[Principal, Depends(events_reader)]


def events_router(*, service: str, audit_log: Table, publication: Publication) -> APIRouter:
    """``GET /api/v1/<service>/events``: the raw stream the gateway's webhook dispatcher pulls."""
    router = APIRouter(prefix=f"/api/v1/{service}", tags=["events"])

    @router.get("/events", response_model=EventPage, responses=PROBLEM_RESPONSES)
    async def list_events(
        session: SessionDep, principal: EventsReader, after: AfterQuery = None, limit: EventsLimit = 100
    ) -> EventPage:
        """Committed events in commit order (admins and the gateway's dispatcher only)."""
        position = decode_position(after, field="after")
        await check_not_ahead(session, position, field="after")
        events, more = await read_events(
            session, audit_log, service=service, publication=publication, after=position, limit=limit
        )
        last = events[-1].position if events else position
        return EventPage(
            items=[event_read(e) for e in events],
            next_cursor=encode_position(last) if last is not None else None,
            has_more=more,
        )

    return router
