"""Return visits (回访) recorded whatever their outcome, and the compliance flags a failed one raises.

The manual (四.3, 六) makes the insurer's return-visit call the check that the client understood
the cover and signed the contract personally; a contract signed for the client (代签) is the red
flag it cares about most. So every call is stored (``return_visits``), and:

- a visit that passes (reached, understood, signed personally) moves the policy to
  ``return_visit_done`` and clears the policy's open flags;
- a visit that fails leaves the policy in ``receipt_signed`` (it cannot be confirmed in force),
  raises a ``return_visit_failed`` compliance flag the team lead reads
  (``GET /api/v1/policies/compliance-flags``), publishes ``policy.return_visit_failed`` through the
  outbox, and keeps the policy on the agent's "return visits pending" list marked as a redo.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.pagination import Page, page_of, read_cursor
from crmkit.scope import owner_scope
from crmkit.workflow import ensure_transition
from services.policies import trail
from services.policies.errors import FlagNotFound, RuleConflict
from services.policies.evidence import ensure_order
from services.policies.issued import service as issued
from services.policies.issued.schemas import ReturnVisitCreate
from services.policies.models import ComplianceFlag, Policy, ReturnVisit
from services.policies.schemas import ComplianceFlagRead, FlagState
from services.policies.tools import Tools
from services.policies.transitions import POLICY, POLICY_TRANSITIONS

RETURN_VISIT_FAILED = "return_visit_failed"

ANSWER_FAILURES: tuple[tuple[str, str], ...] = (
    ("understood_cover", "cover_not_understood"),
    ("signed_personally", "not_signed_personally"),
)
"""A reached client's answer → the reason its ``false`` gives the flag (代签: not signed personally)."""


def failure_reasons(data: ReturnVisitCreate) -> list[str]:
    if not data.reached:
        return ["unreached"]
    return [reason for field, reason in ANSWER_FAILURES if getattr(data, field) is not True]


async def last_visit_on(session: AsyncSession, policy: Policy) -> date | None:
    stmt = (
        select(col(ReturnVisit.visited_on))
        .where(col(ReturnVisit.policy_id) == policy.id)
        .order_by(col(ReturnVisit.visited_on).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_return_visit(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy, data: ReturnVisitCreate
) -> Policy:
    """Store the call; a pass moves the policy on, a failure raises a flag and keeps it pending."""
    ensure_transition(
        POLICY_TRANSITIONS, resource=POLICY, current=policy.status, requested="return_visit_done"
    )
    today = tools.clock.today()
    ensure_order(
        "visited_on",
        data.visited_on,
        after=[
            ("receipt_signed_on", policy.receipt_signed_on),
            ("the previous return visit's visited_on", await last_visit_on(session, policy)),
        ],
        today=today,
    )
    reasons = failure_reasons(data)
    passed = not reasons
    session.add(
        ReturnVisit(
            policy_id=policy.id,
            owner_agent_id=policy.owner_agent_id,
            team_id=policy.team_id,
            visited_on=data.visited_on,
            reached=data.reached,
            understood_cover=data.understood_cover,
            signed_personally=data.signed_personally,
            passed=passed,
            note=data.note,
            recorded_by=principal.actor,
            created_at=utc_now(),
        )
    )
    outcome: dict[str, Any] = {
        "visited_on": data.visited_on.isoformat(),
        "reached": data.reached,
        "understood_cover": data.understood_cover,
        "signed_personally": data.signed_personally,
        "passed": passed,
        "failure_reasons": reasons,
    }
    if passed:
        await _resolve_flags(session, principal, policy, data.visited_on)

        def apply() -> None:
            policy.return_visit = outcome

        return await issued.move_policy(session, principal, policy, "return_visit_done", apply)
    return await _record_failure(session, principal, policy, outcome, reasons, data.visited_on)


async def _resolve_flags(session: AsyncSession, principal: Principal, policy: Policy, on: date) -> None:
    stmt = select(ComplianceFlag).where(
        col(ComplianceFlag.policy_id) == policy.id, col(ComplianceFlag.resolved_on).is_(None)
    )
    for flag in (await session.execute(stmt)).scalars():
        flag.resolved_on = on
        flag.resolution = "a later return visit passed"
        flag.resolved_by = principal.actor


async def resolve_flag(
    *, session: AsyncSession, tools: Tools, principal: Principal, flag_id: uuid.UUID, resolution: str
) -> ComplianceFlag:
    """The team lead (or an admin) closes an open flag in their scope with a note; 409 if closed."""
    f = ComplianceFlag
    stmt = (
        select(f)
        .where(col(f.id) == flag_id, owner_scope(principal, owner=col(f.owner_agent_id), team=col(f.team_id)))
        .with_for_update()
    )
    flag = (await session.execute(stmt)).scalar_one_or_none()
    if flag is None:
        raise FlagNotFound()
    if flag.resolved_on is not None:
        raise RuleConflict(f"this flag was resolved on {flag.resolved_on.isoformat()}: {flag.resolution}")
    flag.resolved_on = tools.clock.today()
    flag.resolution = resolution
    flag.resolved_by = principal.actor
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="compliance_flag.resolved",
        resource_type="compliance_flag",
        resource_id=flag.id,
        before={"resolved_on": None},
        after={"resolved_on": flag.resolved_on.isoformat(), "policy_id": str(flag.policy_id)},
        diff=False,
    )
    return flag


async def _record_failure(
    session: AsyncSession,
    principal: Principal,
    policy: Policy,
    outcome: dict[str, Any],
    reasons: list[str],
    on: date,
) -> Policy:
    before = issued.audit_view(policy)
    policy.return_visit = outcome
    policy.version += 1
    policy.updated_at = utc_now()
    session.add(
        ComplianceFlag(
            policy_id=policy.id,
            client_id=policy.client_id,
            owner_agent_id=policy.owner_agent_id,
            team_id=policy.team_id,
            kind=RETURN_VISIT_FAILED,
            reasons=reasons,
            raised_on=on,
            created_at=utc_now(),
        )
    )
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="policy.return_visit_failed",
        resource_type=POLICY,
        resource_id=policy.id,
        before=before,
        after={**issued.audit_view(policy), "failure_reasons": reasons},
    )
    return policy


async def list_flags(
    *, session: AsyncSession, principal: Principal, state: FlagState, limit: int, cursor: str | None
) -> Page[ComplianceFlagRead]:
    """Compliance flags in the caller's scope (team lead: the team's), newest first."""
    f = ComplianceFlag
    conditions = [owner_scope(principal, owner=col(f.owner_agent_id), team=col(f.team_id))]
    if state == FlagState.OPEN:
        conditions.append(col(f.resolved_on).is_(None))
    elif state == FlagState.RESOLVED:
        conditions.append(col(f.resolved_on).is_not(None))
    after = read_cursor(cursor, date, uuid.UUID)
    if after is not None:
        conditions.append(tuple_(col(f.raised_on), col(f.id)) < tuple_(*after))
    stmt = select(f).where(*conditions).order_by(col(f.raised_on).desc(), col(f.id).desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    return page_of(
        rows,
        limit,
        key=lambda r: (r.raised_on, r.id),
        view=lambda r: ComplianceFlagRead.model_validate(r, from_attributes=True),
    )
