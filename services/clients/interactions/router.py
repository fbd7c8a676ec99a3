"""Interaction endpoints per client, plus the caller's follow-up list and appointment list."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from crmkit.auth import Role, require_roles
from crmkit.clock import IsoDate
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from services.clients import service as clients
from services.clients.dependencies import (
    ChangedClient,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidClient,
    WriterDep,
)
from services.clients.interactions import service
from services.clients.interactions.schemas import (
    AppointmentRead,
    InteractionCreate,
    InteractionKind,
    InteractionRead,
    InteractionUpdate,
)
from services.clients.models import Interaction
from services.clients.repository import child_of
from services.clients.schemas import ClientPage

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["interactions"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
InteractionId = Annotated[uuid.UUID, Path(description="The interaction's id.")]


@router.get("/follow-ups")
async def follow_ups_due(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    due_by: Annotated[
        IsoDate | None, Query(description="Due on or before this date (default: today).")
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ClientPage:
    """Clients in your scope whose next follow-up is due on or before the date, soonest first."""
    return await clients.list_follow_ups_due(
        session=session, principal=principal, due_by=due_by or tools.clock.today(), limit=limit, cursor=cursor
    )


@router.get("/appointments")
async def appointments(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    from_date: Annotated[
        IsoDate | None, Query(alias="from", description="First day (default: today).")
    ] = None,
    to_date: Annotated[IsoDate | None, Query(alias="to", description="Last day (default: `from`).")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[AppointmentRead]:
    """Appointments with the clients in your scope on these days (business time zone), soonest first."""
    first = from_date or tools.clock.today()
    return await service.appointments_page(
        session=session,
        principal=principal,
        tools=tools,
        first_day=first,
        last_day=to_date or first,
        cursor=cursor,
        limit=limit,
    )


@router.post("/{client_id:uuid}/interactions", status_code=status.HTTP_201_CREATED)
async def record_interaction(
    client: ChangedClient,
    data: InteractionCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
) -> InteractionRead:
    """Record an appointment, visit, call or note; the client's next follow-up follows."""
    row = await service.record(session=session, principal=principal, tools=tools, client=client, data=data)
    response.headers["Location"] = f"/api/v1/clients/{client.id}/interactions/{row.id}"
    set_etag(response, row.version)
    return service.to_read(row, tools)


@router.get("/{client_id:uuid}/interactions")
async def list_interactions(
    client: ValidClient,
    session: SessionDep,
    tools: ToolsDep,
    kind: InteractionKind | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[InteractionRead]:
    """The client's interactions, latest first."""
    return await service.of_client(
        session=session, tools=tools, client=client, kind=kind, cursor=cursor, limit=limit
    )


@router.get("/{client_id:uuid}/interactions/{interaction_id:uuid}")
async def get_interaction(
    client: ValidClient,
    interaction_id: InteractionId,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
) -> InteractionRead:
    """One interaction."""
    row = await child_of(
        session=session, model=Interaction, row_id=interaction_id, client_id=client.id, what="interaction"
    )
    set_etag(response, row.version)
    return service.to_read(row, tools)


@router.patch("/{client_id:uuid}/interactions/{interaction_id:uuid}")
async def update_interaction(
    client: ChangedClient,
    interaction_id: InteractionId,
    patch: InteractionUpdate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> InteractionRead:
    """Change an interaction (e.g. an appointment's outcome); requires If-Match."""
    row = await child_of(
        session=session, model=Interaction, row_id=interaction_id, client_id=client.id, what="interaction"
    )
    check_if_match(if_match, row.version)
    row = await service.update(
        session=session, principal=principal, tools=tools, client=client, row=row, patch=patch
    )
    set_etag(response, row.version)
    return service.to_read(row, tools)


@router.delete("/{client_id:uuid}/interactions/{interaction_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_interaction(
    client: ChangedClient,
    interaction_id: InteractionId,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    if_match: IfMatchHeader = None,
) -> Response:
    """Remove an interaction recorded by mistake; requires If-Match."""
    row = await child_of(
        session=session, model=Interaction, row_id=interaction_id, client_id=client.id, what="interaction"
    )
    check_if_match(if_match, row.version)
    await service.remove(session=session, principal=principal, tools=tools, client=client, row=row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
