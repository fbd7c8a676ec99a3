"""Milestone endpoints per client, and the upcoming birthdays and family events in your scope."""

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
from services.clients.dependencies import (
    ChangedClient,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidClient,
    WriterDep,
)
from services.clients.milestones import service
from services.clients.milestones.schemas import MilestoneCreate, MilestoneRead, MilestoneUpdate, UpcomingDate
from services.clients.models import Milestone
from services.clients.repository import child_of

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["milestones"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
MilestoneId = Annotated[uuid.UUID, Path(description="The milestone's id.")]


@router.get("/milestones/upcoming")
async def upcoming_dates(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    within_days: Annotated[int, Query(ge=0, le=366, description="Days after `from` to include.")] = 7,
    from_date: Annotated[
        IsoDate | None, Query(alias="from", description="First day (default: today).")
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[UpcomingDate]:
    """Birthdays and family events from `from` to `from + within_days`, soonest first.

    Ordered by day, then kind, then id; paged with `limit` and `cursor` (`next_cursor` of the
    previous page). A page costs the same for a whole book as for one agent's."""
    return await service.upcoming_page(
        session=session,
        principal=principal,
        first=from_date or tools.clock.today(),
        within_days=within_days,
        cursor=cursor,
        limit=limit,
    )


@router.post("/{client_id:uuid}/milestones", status_code=status.HTTP_201_CREATED)
async def add_milestone(
    client: ChangedClient,
    data: MilestoneCreate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
) -> MilestoneRead:
    """Record a family event (a child's school entry, an elder's birthday banquet, ...)."""
    row = await service.add(session=session, principal=principal, client=client, data=data)
    response.headers["Location"] = f"/api/v1/clients/{client.id}/milestones/{row.id}"
    set_etag(response, row.version)
    return service.to_read(row)


@router.get("/{client_id:uuid}/milestones")
async def list_milestones(
    client: ValidClient, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[MilestoneRead]:
    """The client's recorded family events, newest first (birthdays come from birth dates)."""
    return await service.of_client(session=session, client=client, cursor=cursor, limit=limit)


@router.get("/{client_id:uuid}/milestones/{milestone_id:uuid}")
async def get_milestone(
    client: ValidClient, milestone_id: MilestoneId, session: SessionDep, response: Response
) -> MilestoneRead:
    """One family event."""
    row = await child_of(
        session=session, model=Milestone, row_id=milestone_id, client_id=client.id, what="milestone"
    )
    set_etag(response, row.version)
    return service.to_read(row)


@router.patch("/{client_id:uuid}/milestones/{milestone_id:uuid}")
async def update_milestone(
    client: ChangedClient,
    milestone_id: MilestoneId,
    patch: MilestoneUpdate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> MilestoneRead:
    """Change a family event; requires If-Match."""
    row = await child_of(
        session=session, model=Milestone, row_id=milestone_id, client_id=client.id, what="milestone"
    )
    check_if_match(if_match, row.version)
    row = await service.update(session=session, principal=principal, client=client, row=row, patch=patch)
    set_etag(response, row.version)
    return service.to_read(row)


@router.delete("/{client_id:uuid}/milestones/{milestone_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_milestone(
    client: ChangedClient,
    milestone_id: MilestoneId,
    principal: WriterDep,
    session: SessionDep,
    if_match: IfMatchHeader = None,
) -> Response:
    """Remove a family event; requires If-Match."""
    row = await child_of(
        session=session, model=Milestone, row_id=milestone_id, client_id=client.id, what="milestone"
    )
    check_if_match(if_match, row.version)
    await service.remove(session=session, principal=principal, row=row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
