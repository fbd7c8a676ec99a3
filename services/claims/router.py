"""HTTP endpoints of claims: thin handlers over the rules (the only module here that makes routers)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import StreamingResponse

from crmkit.auth import Role, require_roles
from crmkit.clock import IsoDate
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.periods import FromQuery, ToQuery
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep, ReplicaSessionsDep
from crmkit.workflow import TRANSITION_OR_CONFLICT_RESPONSES
from services.claims import documents as checklist
from services.claims import exports, feedback, reports, service
from services.claims.checklists import ClaimType
from services.claims.dependencies import (
    ChangedChecklist,
    ChangedClaim,
    ChangedDocument,
    Checklist,
    PoliciesDep,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidClaim,
    WriterDep,
)
from services.claims.repository import ClaimFilters
from services.claims.schemas import (
    AgendaLists,
    ChecklistRead,
    ClaimCreate,
    ClaimDetail,
    ClaimMove,
    ClaimPage,
    ClaimsReport,
    ClaimUpdate,
    ClientUpdateCreate,
    DocumentAdd,
    DocumentChange,
    DocumentRead,
    TimelineEntry,
    TimelinePage,
)
from services.claims.transitions import ClaimStatus
from services.claims.views import checklist_reads, document_read, timeline_entry, to_detail

BASE = "/api/v1/claims"
ITEM = "/{claim_id:uuid}"
AsOf = Annotated[IsoDate | None, Query(description="Business date to evaluate on (default: today).")]

# Operations staff have no business with claims: every endpoint answers them 403.
router = APIRouter(
    prefix=BASE,
    tags=["claims"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
exports_router = APIRouter(
    prefix=BASE,
    tags=["exports"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
# Agents have no business report (403: roles are not secret).
reports_router = APIRouter(
    prefix=f"{BASE}/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
routers = (exports_router, reports_router, router)
"""In the order ``main.py`` includes them."""


@router.get("/checklists")
async def list_checklists(principal: ReaderDep) -> list[ChecklistRead]:
    """The documents each claim type requires (kept as data)."""
    return checklist_reads()


@router.get("/updates-due")
async def list_updates_due(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    on: AsOf = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ClaimPage:
    """Open claims whose last client update is 7 or more business days old, oldest first."""
    return await feedback.updates_due(
        session=session, tools=tools, principal=principal, on=on, limit=limit, cursor=cursor
    )


@router.get("/agenda-lists")
async def list_agenda_lists(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    on: AsOf = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AgendaLists:
    """Client updates due and decisions overdue, the first page of each (what the agenda shows)."""
    return await feedback.agenda_lists(session=session, tools=tools, principal=principal, on=on, limit=limit)


@router.get("/decisions-overdue")
async def list_decisions_overdue(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    on: AsOf = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ClaimPage:
    """Submitted claims past the insurer's decision deadline, most overdue first (chase the insurer)."""
    return await feedback.decisions_overdue(
        session=session, tools=tools, principal=principal, on=on, limit=limit, cursor=cursor
    )


@router.get("/documents-missing")
async def list_documents_missing(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    older_than_days: Annotated[
        int | None, Query(ge=0, le=365, description="N: missing for more than N days (default 14).")
    ] = None,
    on: AsOf = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ClaimPage:
    """Open claims whose client has owed a required document for more than N days, longest first."""
    return await feedback.documents_missing(
        session=session,
        tools=tools,
        principal=principal,
        older_than_days=older_than_days,
        on=on,
        limit=limit,
        cursor=cursor,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def report_claim(
    data: ClaimCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    policies: PoliciesDep,
    response: Response,
) -> ClaimDetail:
    """Report a claim on a policy in force on the incident date (send an Idempotency-Key to retry safely)."""
    claim, documents = await service.report_claim(
        session=session, tools=tools, principal=principal, policies=policies, data=data
    )
    response.headers["Location"] = f"{BASE}/{claim.id}"
    set_etag(response, claim.version)
    return to_detail(claim, documents, tools)


@router.get("")
async def list_claims(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    status: ClaimStatus | None = None,
    claim_type: ClaimType | None = None,
    policy_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ClaimPage:
    """List the claims you can see, newest first."""
    filters = ClaimFilters(
        status=status.value if status else None,
        claim_type=claim_type.value if claim_type else None,
        policy_id=policy_id,
        client_id=client_id,
    )
    return await service.list_claims(
        session=session, tools=tools, principal=principal, filters=filters, limit=limit, cursor=cursor
    )


@router.get(ITEM)
async def get_claim(
    claim: ValidClaim, documents: Checklist, tools: ToolsDep, response: Response
) -> ClaimDetail:
    """Read one claim with its document checklist; the ETag is its version."""
    set_etag(response, claim.version)
    return to_detail(claim, documents, tools)


@router.patch(ITEM)
async def correct_claim(
    claim: ChangedClaim,
    documents: ChangedChecklist,
    patch: ClaimUpdate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ClaimDetail:
    """Correct the claimed amount, claimant or description before the insurer decides; requires If-Match."""
    check_if_match(if_match, claim.version)
    claim = await service.correct_claim(
        session=session, tools=tools, principal=principal, claim=claim, patch=patch
    )
    set_etag(response, claim.version)
    return to_detail(claim, documents, tools)


@router.post(f"{ITEM}/transitions", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def move_claim(
    claim: ChangedClaim,
    documents: ChangedChecklist,
    move: ClaimMove,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ClaimDetail:
    """Move the claim to its next status node (409 lists the allowed ones); requires If-Match."""
    check_if_match(if_match, claim.version)
    documents = await service.move_claim(
        session=session, tools=tools, principal=principal, claim=claim, documents=documents, move=move
    )
    set_etag(response, claim.version)
    return to_detail(claim, documents, tools)


@router.post(f"{ITEM}/documents", status_code=status.HTTP_201_CREATED)
async def add_document(
    claim: ChangedClaim,
    documents: ChangedChecklist,
    item: DocumentAdd,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
) -> DocumentRead:
    """Add a document the insurer asked for to the checklist (as missing)."""
    document = await checklist.add_document(
        session=session, tools=tools, principal=principal, claim=claim, documents=documents, item=item
    )
    # A checklist item has no address of its own to read: it is read as part of its claim.
    response.headers["Location"] = f"{BASE}/{claim.id}"
    set_etag(response, claim.version)
    return document_read(document)


@router.patch(f"{ITEM}/documents/{{document_id:uuid}}", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def change_document(
    claim: ChangedClaim,
    documents: ChangedChecklist,
    document: ChangedDocument,
    change: DocumentChange,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ClaimDetail:
    """Mark a checklist item received, submitted, rejected (with reason) or missing; If-Match: the claim's."""
    check_if_match(if_match, claim.version)
    await checklist.change_document(
        session=session,
        tools=tools,
        principal=principal,
        claim=claim,
        documents=documents,
        document=document,
        change=change,
    )
    set_etag(response, claim.version)
    return to_detail(claim, documents, tools)


@router.post(f"{ITEM}/client-updates", status_code=status.HTTP_201_CREATED)
async def record_client_update(
    claim: ChangedClaim,
    data: ClientUpdateCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
) -> TimelineEntry:
    """Record the weekly feedback given to the client; resets the claim's update clock."""
    event = await feedback.record_client_update(
        session=session, tools=tools, principal=principal, claim=claim, data=data
    )
    response.headers["Location"] = f"{BASE}/{claim.id}/timeline"
    set_etag(response, claim.version)
    return timeline_entry(event)


@router.get(f"{ITEM}/timeline")
async def claim_timeline(
    claim: ValidClaim, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> TimelinePage:
    """Every status change and client update of the claim, oldest first."""
    return await feedback.timeline(session=session, claim=claim, limit=limit, cursor=cursor)


@exports_router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV (with BOM), one claim a row."}},
)
async def export_claims(principal: ReaderDep, read_sessions: ReplicaSessionsDep) -> StreamingResponse:
    """Your claims as CSV (bank accounts masked)."""
    return StreamingResponse(
        exports.stream_claims(sessions=read_sessions, principal=principal),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{exports.FILENAME}"',
            "Cache-Control": "no-store",
        },
    )


@reports_router.get("/business", response_model_by_alias=True)
async def business_report(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> ClaimsReport:
    """Claims opened and paid, the amount paid and the average days to pay, for your team."""
    return await reports.business_report(
        session=session, principal=principal, from_date=from_date, to_date=to_date, today=tools.clock.today()
    )
