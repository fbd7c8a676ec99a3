"""HTTP endpoints of duplicate detection and merging."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from services.clients.dependencies import ChangedClient, ReaderDep, SessionDep, ToolsDep, WriterDep
from services.clients.duplicates import service
from services.clients.duplicates.schemas import DuplicatePage, MergeRequest
from services.clients.schemas import ClientRead
from services.clients.service import to_read

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["duplicates"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.get("/duplicates")
async def list_duplicates(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> DuplicatePage:
    """Likely duplicate pairs among your clients: same resident ID, same phone, or a similar name
    (equal once spacing, case and full-width are ignored, or one letter apart) with the same birth date.
    Each page looks at a bounded window of your clients, so a page may hold fewer pairs than `limit`,
    even none, and still have a `next_cursor`: follow it until it is null."""
    return await service.list_duplicates(session=session, principal=principal, limit=limit, cursor=cursor)


@router.post("/{client_id:uuid}/merge")
async def merge_client(
    client: ChangedClient,
    body: MergeRequest,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ClientRead:
    """Merge another of your clients into this one (If-Match on this one): its family, interactions,
    milestones, complaints, consents and references move here, empty fields are filled from it, and it
    is soft-deleted (``client.merged`` in the audit trail, which other services follow)."""
    check_if_match(if_match, client.version)
    survivor = await service.merge_clients(
        session=session, tools=tools, principal=principal, survivor=client, duplicate_id=body.duplicate_id
    )
    set_etag(response, survivor.version)
    return to_read(survivor)
