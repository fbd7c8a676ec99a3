"""HTTP endpoints of applications (投保单): creation, pre-underwriting and the state machine."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from crmkit.auth import Principal, Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from crmkit.workflow import TRANSITION_OR_CONFLICT_RESPONSES, TRANSITION_RESPONSES
from services.policies.applications import requirements, service, traceability
from services.policies.applications.schemas import (
    ApplicationCreate,
    ApplicationDetails,
    ApplicationPage,
    ApplicationRead,
    DecisionCreate,
    PreUnderwritingCreate,
    Reason,
    ReasonedDecision,
    RequirementCreate,
    RequirementResolve,
    SubmissionCreate,
    TraceabilityCreate,
    TraceabilityRead,
    TraceabilityRule,
)
from services.policies.dependencies import (
    ChangedApplication,
    ChangedProposal,
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidApplication,
    WriterDep,
)
from services.policies.errors import TraceabilityNotFound
from services.policies.issued import premiums
from services.policies.issued.schemas import IssueCreate, PaymentCreate, PaymentRead
from services.policies.models import Application
from services.policies.tools import Tools

BASE = "/api/v1/policies/applications"
ItemId = Annotated[uuid.UUID, Path(description="An item of the proposal's accepted revision.")]
RequirementId = Annotated[uuid.UUID, Path(description="The underwriting requirement's id.")]

router = APIRouter(
    tags=["applications"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


async def _answer(session: SessionDep, application: Application, response: Response) -> ApplicationRead:
    set_etag(response, application.version)
    requirements = await service.requirements_of(session=session, application=application)
    return service.to_read(application, requirements)


@router.post(BASE, status_code=status.HTTP_201_CREATED)
async def create_application(
    data: ApplicationCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
) -> ApplicationRead:
    """Start an application (draft) for a client of yours; the client is checked with the clients service."""
    application = await service.create_application(
        session=session, tools=tools, principal=principal, directory=directory, data=data
    )
    response.headers["Location"] = f"{BASE}/{application.id}"
    return await _answer(session, application, response)


@router.post(
    "/api/v1/policies/proposals/{proposal_id:uuid}/items/{item_id:uuid}/application",
    status_code=status.HTTP_201_CREATED,
)
async def create_application_from_proposal(
    proposal: ChangedProposal,
    item_id: ItemId,
    details: ApplicationDetails,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
) -> ApplicationRead:
    """Start an application from an item of the proposal's accepted revision."""
    application = await service.create_from_proposal(
        session=session,
        tools=tools,
        principal=principal,
        directory=directory,
        proposal=proposal,
        item_id=item_id,
        details=details,
    )
    response.headers["Location"] = f"{BASE}/{application.id}"
    return await _answer(session, application, response)


@router.get(BASE)
async def list_applications(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    client_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ApplicationPage:
    """The applications you can see, newest first."""
    return await service.list_applications(
        session=session, principal=principal, client_id=client_id, status=status, limit=limit, cursor=cursor
    )


@router.get(f"{BASE}/{{application_id:uuid}}")
async def get_application(
    application: ValidApplication, session: SessionDep, response: Response
) -> ApplicationRead:
    """Read one application (health answers are never shown); the ETag is its version."""
    return await _answer(session, application, response)


@router.post(f"{BASE}/{{application_id:uuid}}/pre-underwriting")
async def record_pre_underwriting(
    application: ChangedApplication,
    data: PreUnderwritingCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """Record the insurer's pre-underwriting opinion (预核保) before submission; requires If-Match."""
    check_if_match(if_match, application.version)
    application = await service.record_pre_underwriting(
        session=session, tools=tools, principal=principal, application=application, data=data
    )
    return await _answer(session, application, response)


async def _move(
    session: SessionDep,
    tools: Tools,
    principal: Principal,
    application: Application,
    response: Response,
    if_match: str | None,
    target: str,
    reason: str | None = None,
    on: date | None = None,
    insurer_reference: str | None = None,
) -> ApplicationRead:
    check_if_match(if_match, application.version)
    application = await service.move(
        session=session,
        tools=tools,
        principal=principal,
        application=application,
        target=target,
        reason=reason,
        on=on,
        insurer_reference=insurer_reference,
    )
    return await _answer(session, application, response)


@router.post(f"{BASE}/{{application_id:uuid}}/submit", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def submit(
    application: ChangedApplication,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
    if_match: IfMatchHeader = None,
    data: SubmissionCreate | None = None,
) -> ApplicationRead:
    """Submit to the insurer (draft → submitted), on a date (default today); requires If-Match, the
    client's active `sharing_with_insurer` consent (else 409 `consent-required`) and, for a sale the
    traceability rules cover, its recording (else 409 `compliance-incomplete`)."""
    check_if_match(if_match, application.version)
    application = await service.submit(
        session=session,
        tools=tools,
        principal=principal,
        directory=directory,
        application=application,
        on=data.submitted_on if data else None,
    )
    return await _answer(session, application, response)


@router.get(f"{BASE}/traceability-rules", tags=["compliance"])
async def traceability_rules() -> list[TraceabilityRule]:
    """The rule table that decides which sales are recorded on audio and video (可回溯)."""
    return list(traceability.RULES)


@router.post(
    f"{BASE}/{{application_id:uuid}}/traceability",
    status_code=status.HTTP_201_CREATED,
    tags=["compliance"],
    responses=TRANSITION_OR_CONFLICT_RESPONSES,
)
async def record_traceability(
    application: ChangedApplication,
    data: TraceabilityCreate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
) -> TraceabilityRead:
    """Record the recording of a sale that needs one (reference, start, end, the steps it shows);
    422 for a sale no rule covers."""
    record = await traceability.record_traceability(
        session=session, principal=principal, application=application, data=data
    )
    response.headers["Location"] = f"{BASE}/{application.id}/traceability"
    return traceability.to_read(record)


@router.get(f"{BASE}/{{application_id:uuid}}/traceability", tags=["compliance"])
async def get_traceability(application: ValidApplication, session: SessionDep) -> TraceabilityRead:
    """The traceability record of an application (404 when none was recorded)."""
    record = await traceability.record_of(session=session, application=application)
    if record is None:
        raise TraceabilityNotFound()
    return traceability.to_read(record)


@router.post(f"{BASE}/{{application_id:uuid}}/underwriting", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def start_underwriting(
    application: ChangedApplication,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """The insurer is underwriting (from submitted, or back from requirements pending); requires If-Match."""
    return await _move(session, tools, principal, application, response, if_match, "underwriting")


@router.post(f"{BASE}/{{application_id:uuid}}/approve", responses=TRANSITION_RESPONSES)
async def approve(
    application: ChangedApplication,
    data: DecisionCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """The insurer accepted the risk (underwriting → approved), with its reference and date; If-Match."""
    return await _move(
        session,
        tools,
        principal,
        application,
        response,
        if_match,
        "approved",
        on=data.decided_on,
        insurer_reference=data.insurer_reference,
    )


@router.post(f"{BASE}/{{application_id:uuid}}/decline", responses=TRANSITION_RESPONSES)
async def decline(
    application: ChangedApplication,
    data: ReasonedDecision,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """The insurer declined the risk, with its reference and date; requires If-Match."""
    return await _move(
        session,
        tools,
        principal,
        application,
        response,
        if_match,
        "declined",
        data.reason,
        on=data.decided_on,
        insurer_reference=data.insurer_reference,
    )


@router.post(f"{BASE}/{{application_id:uuid}}/postpone", responses=TRANSITION_RESPONSES)
async def postpone(
    application: ChangedApplication,
    data: ReasonedDecision,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """The insurer postponed the decision (延期), with its reference and date; requires If-Match."""
    return await _move(
        session,
        tools,
        principal,
        application,
        response,
        if_match,
        "postponed",
        data.reason,
        on=data.decided_on,
        insurer_reference=data.insurer_reference,
    )


@router.post(f"{BASE}/{{application_id:uuid}}/withdraw", responses=TRANSITION_RESPONSES)
async def withdraw(
    application: ChangedApplication,
    data: Reason,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """Withdraw the application (any time before issue); requires If-Match."""
    return await _move(session, tools, principal, application, response, if_match, "withdrawn", data.reason)


@router.post(
    f"{BASE}/{{application_id:uuid}}/requirements",
    status_code=status.HTTP_201_CREATED,
    responses=TRANSITION_RESPONSES,
)
async def add_requirement(
    application: ChangedApplication,
    data: RequirementCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """Record an underwriting requirement with its due date (→ requirements pending); requires If-Match."""
    check_if_match(if_match, application.version)
    application = await requirements.add_requirement(
        session=session, tools=tools, principal=principal, application=application, data=data
    )
    # A requirement has no address of its own: it is read as part of its application.
    response.headers["Location"] = f"{BASE}/{application.id}"
    return await _answer(session, application, response)


@router.post(f"{BASE}/{{application_id:uuid}}/requirements/{{requirement_id:uuid}}/resolve")
async def resolve_requirement(
    application: ChangedApplication,
    requirement_id: RequirementId,
    data: RequirementResolve,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """Mark a requirement received (or waived); requires the application's If-Match."""
    check_if_match(if_match, application.version)
    application = await requirements.resolve_requirement(
        session=session,
        tools=tools,
        principal=principal,
        application=application,
        requirement_id=requirement_id,
        data=data,
    )
    return await _answer(session, application, response)


@router.post(f"{BASE}/{{application_id:uuid}}/issue", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def issue(
    application: ChangedApplication,
    data: IssueCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ApplicationRead:
    """The insurer issued the policy (approved → issued): creates the policy; requires If-Match."""
    check_if_match(if_match, application.version)
    application, policy = await service.issue(
        session=session, tools=tools, principal=principal, application=application, data=data
    )
    response.headers["Location"] = f"/api/v1/policies/{policy.id}"
    return await _answer(session, application, response)


@router.post(
    f"{BASE}/{{application_id:uuid}}/first-premium",
    status_code=status.HTTP_201_CREATED,
    responses=TRANSITION_OR_CONFLICT_RESPONSES,
)
async def record_first_premium(
    application: ChangedApplication,
    data: PaymentCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
) -> PaymentRead:
    """The first premium arrived (submitted to approved): the first instalment in full, with the
    date, method and reference. `issue` refuses an application without it (procedure 三.7).
    `Location` is the application, which shows the payment (the payment has no address of its own)."""
    payment = await service.record_first_premium(
        session=session, tools=tools, principal=principal, application=application, data=data
    )
    response.headers["Location"] = f"{BASE}/{application.id}"
    return premiums.to_payment_read(payment)
