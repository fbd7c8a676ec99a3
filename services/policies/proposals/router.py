"""HTTP endpoints of proposals (方案设计): thin handlers over the service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from crmkit.workflow import TRANSITION_OR_CONFLICT_RESPONSES, TRANSITION_RESPONSES
from services.policies.dependencies import (
    ChangedProposal,
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidProposal,
    WriterDep,
)
from services.policies.proposals import service
from services.policies.proposals.schemas import (
    AcknowledgmentCreate,
    InformedChoiceCreate,
    ProposalAccept,
    ProposalCreate,
    ProposalDecline,
    ProposalPage,
    ProposalRead,
    ProposalRevise,
)

BASE = "/api/v1/policies/proposals"

router = APIRouter(
    prefix=BASE,
    tags=["proposals"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_proposal(
    data: ProposalCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
) -> ProposalRead:
    """Propose a plan for a client's household; the manual's checks come back as findings."""
    proposal, revisions = await service.create_proposal(
        session=session, tools=tools, principal=principal, directory=directory, data=data
    )
    response.headers["Location"] = f"{BASE}/{proposal.id}"
    set_etag(response, proposal.version)
    return service.to_read(proposal, revisions)


@router.get("")
async def list_proposals(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    client_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ProposalPage:
    """The proposals you can see, newest first."""
    return await service.list_proposals(
        session=session, principal=principal, client_id=client_id, status=status, limit=limit, cursor=cursor
    )


@router.get("/{proposal_id:uuid}")
async def get_proposal(proposal: ValidProposal, session: SessionDep, response: Response) -> ProposalRead:
    """Read one proposal with every revision and its findings."""
    set_etag(response, proposal.version)
    return await service.read(session=session, proposal=proposal)


@router.post(
    "/{proposal_id:uuid}/revisions", status_code=status.HTTP_201_CREATED, responses=TRANSITION_RESPONSES
)
async def revise_proposal(
    proposal: ChangedProposal,
    data: ProposalRevise,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ProposalRead:
    """Add a revision after the client's feedback; requires If-Match."""
    check_if_match(if_match, proposal.version)
    proposal, _ = await service.revise_proposal(
        session=session, tools=tools, principal=principal, directory=directory, proposal=proposal, data=data
    )
    # A revision has no address of its own: it is read as part of its proposal.
    response.headers["Location"] = f"{BASE}/{proposal.id}"
    set_etag(response, proposal.version)
    return await service.read(session=session, proposal=proposal)


@router.post("/{proposal_id:uuid}/accept", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def accept_proposal(
    proposal: ChangedProposal,
    data: ProposalAccept,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ProposalRead:
    """Record the revision the client accepted; requires If-Match."""
    check_if_match(if_match, proposal.version)
    proposal, _ = await service.accept_proposal(
        session=session, principal=principal, proposal=proposal, data=data
    )
    set_etag(response, proposal.version)
    return await service.read(session=session, proposal=proposal)


@router.post("/{proposal_id:uuid}/decline", responses=TRANSITION_RESPONSES)
async def decline_proposal(
    proposal: ChangedProposal,
    data: ProposalDecline,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ProposalRead:
    """Record that the client turned the plan down; requires If-Match."""
    check_if_match(if_match, proposal.version)
    proposal, _ = await service.decline_proposal(
        session=session, principal=principal, proposal=proposal, data=data
    )
    set_etag(response, proposal.version)
    return await service.read(session=session, proposal=proposal)


@router.post(
    "/{proposal_id:uuid}/acknowledgments",
    status_code=status.HTTP_201_CREATED,
    responses=TRANSITION_OR_CONFLICT_RESPONSES,
)
async def acknowledge_disclosure(
    proposal: ChangedProposal,
    data: AcknowledgmentCreate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
) -> ProposalRead:
    """Record that the client acknowledged one disclosure item (exclusions, non-guaranteed benefits,
    waiting period) of a product, under its current disclosure version, and how (channel)."""
    await service.acknowledge_disclosure(session=session, principal=principal, proposal=proposal, data=data)
    # An acknowledgment is read as part of its proposal's revision.
    response.headers["Location"] = f"{BASE}/{proposal.id}"
    set_etag(response, proposal.version)
    return await service.read(session=session, proposal=proposal)


@router.post(
    "/{proposal_id:uuid}/informed-choices",
    status_code=status.HTTP_201_CREATED,
    responses=TRANSITION_OR_CONFLICT_RESPONSES,
)
async def record_informed_choice(
    proposal: ChangedProposal,
    data: InformedChoiceCreate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
) -> ProposalRead:
    """Record the client's informed choice to keep the plan against a warning finding, with a reason."""
    await service.record_informed_choice(session=session, principal=principal, proposal=proposal, data=data)
    response.headers["Location"] = f"{BASE}/{proposal.id}"
    set_etag(response, proposal.version)
    return await service.read(session=session, proposal=proposal)
