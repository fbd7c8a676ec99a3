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
from crmkit.replicas import ReplicaSessionDep
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
from services.policies.issued import lifecycle, premiums, service
from services.policies.issued.schemas import (
    CancellationCreate,
    InForceRead,
    PaymentCreate,
    PaymentRead,
    PolicyPage,
    PolicyRead,
    PolicyStatus,
    ReceiptCreate,
    ReinstatementCreate,
    RenewalCreate,
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
    session: ReplicaSessionDep,
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
    session: SessionDep,
    tools: ToolsDep,
    on: Annotated[IsoDate | None, Query(description="The day asked about (default: today).")] = None,
) -> InForceRead:
    """Whether the policy covers the given day (claims ask this): lapse, expiry, termination,
    cancellation and surrender all count; a day in the waiting period is covered but flagged."""
    premiums_due = await service.premiums_of(session=session, policy=policy)
    return service.in_force_on(policy, on or tools.clock.today(), premiums_due)


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


@router.get(ITEM + "/payments")
async def list_payments(policy: ValidPolicy, session: SessionDep) -> list[PaymentRead]:
    """Every payment of the policy (the first premium, instalments, arrears), oldest first."""
    return [premiums.to_payment_read(p) for p in await premiums.payments_of(session=session, policy=policy)]


@router.post(ITEM + "/reinstatement", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def reinstate(
    policy: ChangedPolicy,
    data: ReinstatementCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Reinstate a lapsed policy (复效, 保险法 §37): within 2 years, with a new health disclosure,
    the insurer's opinion and the arrears paid; requires If-Match."""
    check_if_match(if_match, policy.version)
    policy = await lifecycle.reinstate(
        session=session, tools=tools, principal=principal, policy=policy, data=data
    )
    return await _answer(session, tools, policy, response)


@router.post(ITEM + "/renewal", responses=TRANSITION_OR_CONFLICT_RESPONSES)
async def decide_renewal(
    policy: ChangedPolicy,
    data: RenewalCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PolicyRead:
    """Renew a one-year term (as is, or changed) or decline it, in the 60 days before it ends.
    Answers the new term's policy (or this one, declined); requires If-Match."""
    check_if_match(if_match, policy.version)
    made = await lifecycle.decide_renewal(
        session=session, tools=tools, principal=principal, policy=policy, data=data
    )
    if made.id != policy.id:
        response.headers["Location"] = f"{BASE}/{made.id}"
    return await _answer(session, tools, made, response)
