"""HTTP endpoints of the service-wide reads: CSV export, work lists, the agenda, the business report
and the annual policy review. The subdomains' endpoints are in their packages' ``router.py``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from crmkit.auth import Role, require_roles
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from crmkit.replicas import ReplicaSessionDep, ReplicaSessionsDep
from services.policies import annual_review, exports, reports, return_visits, review, sweep, worklists
from services.policies.dependencies import (
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ToolsDep,
    WriterDep,
    clock_of,
)
from services.policies.schemas import (
    AgendaLists,
    AnnualReviewCreate,
    AnnualReviewRead,
    CollectionItem,
    ComplianceFlagRead,
    CoolingOffEnding,
    ExportKind,
    FlagResolution,
    FlagState,
    LapsedPolicy,
    PoliciesReport,
    PolicyReview,
    PremiumDueItem,
    RenewalDue,
    RequirementDue,
    ReturnVisitPending,
    ReviewDue,
    SweepRead,
)

BASE = "/api/v1/policies"
ALREADY_RESOLVED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "The flag is already resolved"}
}
ClientIdPath = Annotated[uuid.UUID, Path(description="The client (policyholder) under review.")]
SALES_ROLES = [require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)]
WithinDays = Annotated[int, Query(ge=0, le=365, description="Look this many days ahead of today.")]

exports_router = APIRouter(
    prefix=BASE, tags=["exports"], dependencies=SALES_ROLES, responses=PROBLEM_RESPONSES
)
worklists_router = APIRouter(
    prefix=f"{BASE}/worklists", tags=["work lists"], dependencies=SALES_ROLES, responses=PROBLEM_RESPONSES
)
agenda_router = APIRouter(
    prefix=BASE, tags=["work lists"], dependencies=SALES_ROLES, responses=PROBLEM_RESPONSES
)
reports_router = APIRouter(
    prefix=f"{BASE}/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
flags_router = APIRouter(
    prefix=BASE,
    tags=["work lists"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
review_router = APIRouter(tags=["policy review"], dependencies=SALES_ROLES, responses=PROBLEM_RESPONSES)
sweep_router = APIRouter(
    prefix=BASE,
    tags=["policy sweep"],
    dependencies=[require_roles(Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@sweep_router.post("/sweep")
async def run_sweep(request: Request, principal: WriterDep) -> SweepRead:
    """Run the scheduled sweep now (admins): lapse, termination, expiry, end of cooling-off and
    renewal notices as of today. It also runs by itself every `POLICIES_SWEEP_INTERVAL_SECONDS`;
    a run already under way elsewhere makes this one a no-op (`ran: false`)."""
    report = await sweep.run_once(sessions=request.app.state.sessions, clock=clock_of(request.app))
    return SweepRead(
        ran=report.ran,
        today=report.today,
        lapsed=report.lapsed,
        terminated=report.terminated,
        expired=report.expired,
        cooling_off_ended=report.cooling_off_ended,
        renewal_due=report.renewal_due,
    )


@exports_router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV (with BOM), one record a row."}},
)
async def export_policies(
    request: Request,
    principal: ReaderDep,
    read_sessions: ReplicaSessionsDep,
    kind: Annotated[ExportKind, Query(description="`applications` or `policies`.")],
) -> StreamingResponse:
    """Your applications or policies as CSV (health data never included)."""
    chunks = exports.export_csv(sessions=read_sessions, principal=principal, kind=kind)
    return StreamingResponse(
        chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{kind.value}.csv"',
            "Cache-Control": "no-store",
        },
    )


@worklists_router.get("/requirements-due")
async def list_requirements_due(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[RequirementDue]:
    """Underwriting requirements due within N days (and overdue ones)."""
    return await worklists.requirements_due(
        session=session,
        principal=principal,
        today=tools.clock.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


@worklists_router.get("/cooling-off-ending")
async def list_cooling_off_ending(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[CoolingOffEnding]:
    """Policies whose cooling-off period ends within N days."""
    return await worklists.cooling_off_ending(
        session=session,
        principal=principal,
        today=tools.clock.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


@worklists_router.get("/collection")
async def list_collection(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[CollectionItem]:
    """Overdue premiums to collect, with the last day of each grace period (保险法 §36)."""
    return await worklists.collection(
        session=session, principal=principal, today=tools.clock.today(), limit=limit, cursor=cursor
    )


@worklists_router.get("/renewals-due")
async def list_renewals_due(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[RenewalDue]:
    """One-year terms ending within 60 days with no renewal decision (notices at 60/30/7 days)."""
    return await worklists.renewals_due(
        session=session, principal=principal, today=tools.clock.today(), limit=limit, cursor=cursor
    )


@worklists_router.get("/lapsed")
async def list_lapsed(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[LapsedPolicy]:
    """Lapsed policies that can still be reinstated (复效 within 2 years, 保险法 §37)."""
    return await worklists.lapsed(
        session=session, principal=principal, today=tools.clock.today(), limit=limit, cursor=cursor
    )


@worklists_router.get("/return-visits-pending")
async def list_return_visits_pending(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ReturnVisitPending]:
    """Policies waiting for the insurer's return visit."""
    return await worklists.return_visits_pending(
        session=session, principal=principal, limit=limit, cursor=cursor
    )


@worklists_router.get("/premiums-due")
async def list_premiums_due(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 30,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[PremiumDueItem]:
    """Premium instalments due within N days (and overdue ones)."""
    return await worklists.premiums_due(
        session=session,
        principal=principal,
        today=tools.clock.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


@agenda_router.get("/agenda-lists")
async def list_agenda_lists(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AgendaLists:
    """Every work list at once, the first page of each (what the agenda shows)."""
    return await worklists.agenda_lists(
        session=session, principal=principal, today=tools.clock.today(), within_days=within_days, limit=limit
    )


@agenda_router.get("/compliance-flags")
async def list_compliance_flags(
    principal: ReaderDep,
    session: SessionDep,
    state: Annotated[FlagState, Query(description="`open` (default), `resolved` or `all`.")] = FlagState.OPEN,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ComplianceFlagRead]:
    """Compliance flags (a failed return visit, 代签) in your scope, newest first (red flags)."""
    return await return_visits.list_flags(
        session=session, principal=principal, state=state, limit=limit, cursor=cursor
    )


@flags_router.post("/compliance-flags/{flag_id:uuid}/resolution", responses=ALREADY_RESOLVED)
async def resolve_compliance_flag(
    flag_id: Annotated[uuid.UUID, Path(description="The compliance flag.")],
    data: FlagResolution,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
) -> ComplianceFlagRead:
    """Close an open flag after looking into it, with a note (team leads and admins)."""
    flag = await return_visits.resolve_flag(
        session=session, tools=tools, principal=principal, flag_id=flag_id, resolution=data.resolution
    )
    return ComplianceFlagRead.model_validate(flag, from_attributes=True)


@reports_router.get("/business", response_model_by_alias=True)
async def business_report(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> PoliciesReport:
    """Proposals and applications by state, policies issued and annual premium, cooling-off cancellations."""
    first, last = period(from_date, to_date, today=tools.clock.today())
    return await reports.business_report(
        session=session, principal=principal, clock=tools.clock, first=first, last=last
    )


@review_router.get(f"{BASE}/reviews/due")
async def list_reviews_due(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 30,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ReviewDue]:
    """Clients with policies in force whose annual review (年度检视) is due by today + N, overdue first."""
    return await annual_review.reviews_due(
        session=session,
        principal=principal,
        today=tools.clock.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


@review_router.post(f"{BASE}/reviews/{{client_id:uuid}}/records", status_code=status.HTTP_201_CREATED)
async def record_annual_review(
    client_id: ClientIdPath,
    data: AnnualReviewCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
) -> AnnualReviewRead:
    """Record the annual review held with a client and its findings; the next one is due in 12 months."""
    record = await annual_review.record_review(
        session=session, tools=tools, principal=principal, directory=directory, client_id=client_id, data=data
    )
    response.headers["Location"] = f"{BASE}/reviews/{client_id}/records"
    return annual_review.to_read(record)


@review_router.get(f"{BASE}/reviews/{{client_id:uuid}}/records")
async def list_annual_reviews(
    client_id: ClientIdPath,
    principal: ReaderDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[AnnualReviewRead]:
    """The annual reviews recorded for a client, latest first."""
    return await annual_review.reviews_of(
        session=session, principal=principal, client_id=client_id, limit=limit, cursor=cursor
    )


@review_router.get(f"{BASE}/reviews/{{client_id:uuid}}")
async def get_policy_review(
    client_id: Annotated[uuid.UUID, Path(description="The client (policyholder) under review.")],
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
) -> PolicyReview:
    """Annual policy review of a client: every policy, cover per wall, the gap left, income growth."""
    return await review.review_client(
        session=session,
        principal=principal,
        directory=directory,
        client_id=client_id,
        today=tools.clock.today(),
    )
