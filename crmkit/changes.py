"""The changes feed for offline sync: what changed since a cursor, scoped to the caller.

Built on the event outbox (``crmkit.events``): the same commit-order cursor, so a change that
committed late from a transaction that started early is never skipped. Each service registers
the resource types of its feed and how to load them *as the caller may see them*; the feed
walks events in order, loads the records they touch, and answers their current public (masked)
representation, or a tombstone once deleted. Records outside the caller's scope are skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal, PrincipalDep, Role, require_scope
from crmkit.events import (
    AS_AUDITED,
    Event,
    Publication,
    check_not_ahead,
    decode_position,
    encode_position,
    events_router,
    read_events,
)
from crmkit.problems import PROBLEM_RESPONSES, Unprocessable
from crmkit.replicas import ReplicaSessionDep, count_fallback, on_replica


class Tombstone:
    """What a loader answers for a record the caller could see that has since been deleted."""


TOMBSTONE = Tombstone()

Loaded = Mapping[uuid.UUID, dict[str, Any] | Tombstone]


class Loader(Protocol):
    """The public views (``model_dump(mode="json")``) of those ``ids`` the caller may see; the
    others left out. ``request`` gives the app's tools (settings, cipher)."""

    async def __call__(
        self, *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
    ) -> Loaded: ...


def was_owned_by(principal: Principal, before: dict[str, Any]) -> bool:
    """Whether the record, as audited before a change, was the caller's (owner or team)."""
    if principal.role is Role.AGENT or principal.role is Role.TEAM_LEAD:
        if before.get("owner_agent_id") == str(principal.user_id):
            return True
        return principal.role is Role.TEAM_LEAD and before.get("team_id") == str(principal.team_id)
    return False


@dataclass(frozen=True, slots=True)
class FeedResource:
    load: Loader
    created_by: frozenset[str] = frozenset()
    """Audited actions that create the record (the change is then ``created``, not ``updated``)."""
    was_in_scope: Callable[[Principal, dict[str, Any]], bool] | None = None
    """Given a change's audited ``before``: was the record the caller's? Then a record the caller
    can no longer see (reassigned away) is answered as a tombstone, so the phone drops it."""


SCAN_BATCH = 200
MAX_SCANNED = 2000
"""Events read per request at most, so one call stays bounded when little of it is in scope."""
MAX_CHANGES_LIMIT = 200


class Change(BaseModel):
    op: Literal["created", "updated", "deleted"]
    type: str = Field(description="The resource type, e.g. `client`.")
    id: uuid.UUID
    data: dict[str, Any] | None = Field(
        default=None, description="The record as `GET` answers it now (masked); absent for `deleted`."
    )


class ChangesPage(BaseModel):
    items: list[Change]
    next_cursor: str | None = Field(description="Pass as `since` next time; null only before any change.")
    has_more: bool = Field(description="More changes are already waiting: call again at once.")


@dataclass
class _Pending:
    event: Event
    created: bool
    state: dict[str, Any] | Tombstone


async def read_changes(
    request: Request,
    session: AsyncSession,
    audit_log: Table,
    *,
    service: str,
    publication: Publication,
    resources: Mapping[str, FeedResource],
    principal: Principal,
    since: str | None,
    limit: int,
) -> ChangesPage:
    """The caller's changes after ``since``, several changes of one record collapsed to its latest."""
    position = decode_position(since, field="since")
    await check_not_ahead(session, position, field="since")
    latest: dict[tuple[str, uuid.UUID], _Pending] = {}
    scanned = 0
    more = True
    last = position
    while more and len(latest) < limit and scanned < MAX_SCANNED:
        batch, more = await read_events(
            session,
            audit_log,
            service=service,
            publication=publication,
            after=last,
            limit=min(SCAN_BATCH, MAX_SCANNED - scanned),
        )
        scanned += len(batch)
        states = await _load(request, session, principal, resources, batch)
        for event in batch:
            key = (event.resource_type, event.resource_id)
            state = states.get(key)
            if state is None and _left_scope(resources.get(event.resource_type), principal, event):
                state = TOMBSTONE
            if state is not None:
                if key not in latest and len(latest) >= limit:
                    more = True  # the page is full: the next call starts with this change
                    break
                previous = latest.pop(key, None)  # re-inserted last: items follow commit order
                created = event.action in resources[event.resource_type].created_by
                latest[key] = _Pending(event, created or (previous is not None and previous.created), state)
            last = event.position
    return ChangesPage(
        items=[_change(p) for p in latest.values()],
        next_cursor=encode_position(last) if last is not None else None,
        has_more=more,
    )


async def _load(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    resources: Mapping[str, FeedResource],
    events: list[Event],
) -> dict[tuple[str, uuid.UUID], dict[str, Any] | Tombstone]:
    """The current state of the records these events touch, for those the caller may see."""
    by_type: dict[str, set[uuid.UUID]] = {}
    for event in events:
        if event.resource_type in resources:
            by_type.setdefault(event.resource_type, set()).add(event.resource_id)
    states: dict[tuple[str, uuid.UUID], dict[str, Any] | Tombstone] = {}
    for resource_type, ids in by_type.items():
        found = await resources[resource_type].load(
            request=request, session=session, principal=principal, ids=sorted(ids)
        )
        states.update(((resource_type, i), state) for i, state in found.items())
    return states


def _left_scope(resource: FeedResource | None, principal: Principal, event: Event) -> bool:
    if resource is None or resource.was_in_scope is None or not event.before:
        return False
    return resource.was_in_scope(principal, event.before)


def _change(pending: _Pending) -> Change:
    event = pending.event
    if isinstance(pending.state, Tombstone):
        return Change(op="deleted", type=event.resource_type, id=event.resource_id)
    op: Literal["created", "updated"] = "created" if pending.created else "updated"
    return Change(op=op, type=event.resource_type, id=event.resource_id, data=pending.state)


SinceQuery = Annotated[
    str | None,
    Query(
        max_length=200, description="`next_cursor` of the previous sync; omit to start from the beginning."
    ),
]
ChangesLimit = Annotated[
    int, Query(ge=1, le=MAX_CHANGES_LIMIT, description="Changes per page (default 100).")
]


def changes_router(
    *,
    service: str,
    audit_log: Table,
    publication: Publication,
    resources: Mapping[str, FeedResource],
    scope: str,
) -> APIRouter:
    """``GET /api/v1/<service>/changes``: the caller's created, updated and deleted records."""
    router = APIRouter(prefix=f"/api/v1/{service}", tags=["sync"])

    @router.get(
        "/changes",
        response_model=ChangesPage,
        responses=PROBLEM_RESPONSES,
        dependencies=[require_scope(scope)],
    )
    async def list_changes(
        request: Request,
        session: ReplicaSessionDep,
        principal: PrincipalDep,
        since: SinceQuery = None,
        limit: ChangesLimit = 100,
    ) -> ChangesPage:
        """Records created, updated or deleted since the cursor, in commit order, in the caller's scope."""

        async def read(on: AsyncSession) -> ChangesPage:
            return await read_changes(
                request,
                on,
                audit_log,
                service=service,
                publication=publication,
                resources=resources,
                principal=principal,
                since=since,
                limit=limit,
            )

        try:
            return await read(session)
        except Unprocessable:
            if not on_replica(session):
                raise
        # The cursor is ahead of the replica (issued by the primary, or by a replica further on):
        # the primary has seen it; a cursor from the future is refused there as before.
        count_fallback(request, "behind")
        async with request.app.state.read_sessions() as primary:
            return await read(primary)

    return router


def feed_routers(
    *,
    service: str,
    audit_log: Table,
    resources: Mapping[str, FeedResource],
    scope: str,
    publication: Publication = AS_AUDITED,
) -> list[APIRouter]:
    """Both feeds of one service: ``/events`` (for the gateway) and ``/changes`` (for sync).

    ``publication`` names the service's events where they differ from the audited actions."""
    return [
        events_router(service=service, audit_log=audit_log, publication=publication),
        changes_router(
            service=service, audit_log=audit_log, publication=publication, resources=resources, scope=scope
        ),
    ]
