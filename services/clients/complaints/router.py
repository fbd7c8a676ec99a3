"""Complaint endpoints per client, and the complaints in your scope by status."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from crmkit.workflow import TRANSITION_OR_CONFLICT_RESPONSES
from services.clients.complaints import service
from services.clients.complaints.schemas import (
    ComplaintCreate,
    ComplaintRead,
    ComplaintReport,
    ComplaintStatus,
    ComplaintUpdate,
)
from services.clients.dependencies import (
    ChangedClient,
    PolicyBookDep,
    ReaderDep,
    SessionDep,
    ValidClient,
    WriterDep,
)
from services.clients.models import Complaint
from services.clients.repository import child_of

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["complaints"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
ComplaintId = Annotated[uuid.UUID, Path(description="The complaint's id.")]


@router.get("/complaints")
async def complaints_in_scope(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    status: ComplaintStatus | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ComplaintRead]:
    """Complaints about the clients in your scope, newest first, optionally by status."""
    return await service.in_scope(
        session=session, principal=principal, status=status, cursor=cursor, limit=limit
    )


@router.post("/{client_id:uuid}/complaints", status_code=status.HTTP_201_CREATED)
async def receive_complaint(
    client: ChangedClient,
    data: ComplaintCreate,
    principal: WriterDep,
    session: SessionDep,
    book: PolicyBookDep,
    response: Response,
) -> ComplaintRead:
    """Take a complaint down as the client put it (status `received`); a `policy_id` must be one of
    this client's policies in your book (422 otherwise)."""
    row = await service.receive(session=session, principal=principal, client=client, data=data, book=book)
    response.headers["Location"] = f"/api/v1/clients/{client.id}/complaints/{row.id}"
    set_etag(response, row.version)
    return service.to_read(row)


@router.get("/{client_id:uuid}/complaints")
async def list_complaints(
    client: ValidClient, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[ComplaintRead]:
    """The client's complaints, newest first."""
    return await service.of_client(session=session, client=client, cursor=cursor, limit=limit)


@router.get("/{client_id:uuid}/complaints/{complaint_id:uuid}")
async def get_complaint(
    client: ValidClient, complaint_id: ComplaintId, session: SessionDep, response: Response
) -> ComplaintRead:
    """One complaint with where its status may go next."""
    row = await child_of(
        session=session, model=Complaint, row_id=complaint_id, client_id=client.id, what="complaint"
    )
    set_etag(response, row.version)
    return service.to_read(row)


@router.patch("/{client_id:uuid}/complaints/{complaint_id:uuid}", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def update_complaint(
    client: ChangedClient,
    complaint_id: ComplaintId,
    patch: ComplaintUpdate,
    principal: WriterDep,
    session: SessionDep,
    book: PolicyBookDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ComplaintRead:
    """Record facts, resolution and report, or move the status on (409 when not allowed); If-Match."""
    row = await child_of(
        session=session, model=Complaint, row_id=complaint_id, client_id=client.id, what="complaint"
    )
    check_if_match(if_match, row.version)
    row = await service.update(
        session=session, principal=principal, client=client, row=row, patch=patch, book=book
    )
    set_etag(response, row.version)
    return service.to_read(row)


@router.get("/{client_id:uuid}/complaints/{complaint_id:uuid}/report")
async def complaint_report(
    client: ValidClient, complaint_id: ComplaintId, session: SessionDep
) -> ComplaintReport:
    """The complaint handling report (投诉处理报告), once the complaint is reported."""
    row = await child_of(
        session=session, model=Complaint, row_id=complaint_id, client_id=client.id, what="complaint"
    )
    return service.report(row, client)
