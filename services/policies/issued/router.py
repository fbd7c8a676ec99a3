"""HTTP endpoints of policies after issue. Item routes use the uuid convertor, so literal paths
(`/products`, `/proposals`...) are never taken for a policy id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from crmkit.auth import Role, require_roles
from crmkit.clock import IsoDate
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.workflow import TRANSITION_OR_CONFLICT_RESPONSES, TRANSITION_RESPONSES
from services.policies import return_visits
from services.policies.dependencies import (
    ChangedPolicy,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidPolicy,
    WriterDep,
)
from services.policies.issued import service
from services.policies.issued.schemas import (
    CancellationCreate,
    InForceRead,
    PaymentCreate,
    PolicyPage,
    PolicyRead,
    PolicyStatus,
    ReceiptCreate,
    ReturnVisitCreate,
    SurrenderCreate,
)
from services.policies.models import Policy
from services.policies.tools import Tools

BASE = "/api/v1/policies"
ITEM = BASE + "/{policy_id:uuid}"
PremiumId = Annotated[uuid.UUID, Path(description="The premium instalment's id.")]

router = APIRouter(
    tags=["policies"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


async def _answer(session: SessionDep, tools: Tools, policy: Policy, response: Response) -> PolicyRead:
    set_etag(response, policy.version)
    return service.to_read(
        policy, await service.premiums_of(session=session, policy=policy), tools.clock.today()
    )


@router.get(BASE)
async def list_policies(
    principal: ReaderDep,
    session: SessionDep,
    client_id: Annotated[uuid.UUID | None, Query(description="The policyholder's policies.")] = None,
    status: PolicyStatus | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> PolicyPage:
    """The policies you can see, newest first; `client_id` gives one policyholder's list."""
    return await service.list_policies(
        session=session,
        principal=principal,
        client_id=client_id,
        status=status.value if status else None,
        limit=limit,
        cursor=cursor,
    )


@router.get(ITEM)
async def get_policy(
    policy: ValidPolicy, session: SessionDep, tools: ToolsDep, response: Response
) -> PolicyRead:
    """Read one policy with its walls and premium schedule; the ETag is its version."""
    return await _answer(session, tools, policy, response)


@router.get(ITEM + "/in-force")
async def in_force(
    policy: ValidPolicy,
    tools: ToolsDep,
    on: Annotated[IsoDate | None, Query(description="The day asked about (default: today).")] = None,
) -> InForceRead:
    """Whether the policy covers the given day (claims ask this)."""
    return service.in_force_on(policy, on or tools.clock.today())


@router.post(ITEM + "/receipt", responses=TRANSITION_RESPONSES)
async def sign_receipt(
    policy: ChangedPolicy,
    data: ReceiptCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Record the signed receipt; the cooling-off period starts from its date. Requires If-Match."""
    check_if_match(if_match, policy.version)
    policy = await service.sign_receipt(
        session=session, tools=tools, principal=principal, policy=policy, data=data
    )
    return await _answer(session, tools, policy, response)


@router.post(ITEM + "/return-visit", responses=TRANSITION_RESPONSES)
async def record_return_visit(
    policy: ChangedPolicy,
    data: ReturnVisitCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Record the insurer's return visit whatever its outcome (a failure raises a flag); If-Match."""
    check_if_match(if_match, policy.version)
    policy = await return_visits.record_return_visit(
        session=session, tools=tools, principal=principal, policy=policy, data=data
    )
    return await _answer(session, tools, policy, response)


@router.post(ITEM + "/mark-in-force", responses=TRANSITION_RESPONSES)
async def mark_in_force(
    policy: ChangedPolicy,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Mark the policy in force after the return visit; requires If-Match."""
    check_if_match(if_match, policy.version)
    policy = await service.mark_in_force(session=session, tools=tools, principal=principal, policy=policy)
    return await _answer(session, tools, policy, response)


@router.post(ITEM + "/cancellation", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def cancel(
    policy: ChangedPolicy,
    data: CancellationCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Cancel within the cooling-off period (full refund recorded); requires If-Match."""
    check_if_match(if_match, policy.version)
    policy = await service.cancel(session=session, tools=tools, principal=principal, policy=policy, data=data)
    return await _answer(session, tools, policy, response)


@router.post(ITEM + "/surrender", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def surrender(
    policy: ChangedPolicy,
    data: SurrenderCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Surrender after the cooling-off period; requires If-Match."""
    check_if_match(if_match, policy.version)
    policy = await service.surrender(
        session=session, tools=tools, principal=principal, policy=policy, data=data
    )
    return await _answer(session, tools, policy, response)


@router.post(ITEM + "/premiums/{premium_id:uuid}/payment")
async def record_payment(
    policy: ChangedPolicy,
    premium_id: PremiumId,
    data: PaymentCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Record the payment of a premium instalment; requires the policy's If-Match."""
    check_if_match(if_match, policy.version)
    policy = await service.record_payment(
        session=session, tools=tools, principal=principal, policy=policy, premium_id=premium_id, data=data
    )
    return await _answer(session, tools, policy, response)
