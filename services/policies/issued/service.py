"""Policies after issue: receipt, return visit, in force, cancellation, surrender, premiums."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.workflow import allowed_next, ensure_transition
from services.policies import collectable, repository, review_clock, trail
from services.policies.errors import DuplicatePolicyNumber, InvalidField, RuleConflict
from services.policies.issued import premiums
from services.policies.issued.schemas import (
    CancellationCreate,
    InForceRead,
    IssueCreate,
    PaymentCreate,
    PolicyPage,
    PolicyRead,
    PolicySummary,
    PremiumRead,
    PremiumStatus,
    ReceiptCreate,
    ReturnVisitRead,
    SurrenderCreate,
    WallCover,
)
from services.policies.models import Application, Policy, PremiumDue, Product
from services.policies.terms import CoverageTerm, cover_ends_on
from services.policies.tools import Tools
from services.policies.transitions import POLICY, POLICY_TRANSITIONS

RESOURCE = POLICY


def _walls(policy: Policy) -> list[WallCover]:
    return [WallCover(wall=w, sum_insured=policy.sum_insured) for w in policy.walls]


def premium_status(due: PremiumDue, today: date) -> PremiumStatus:
    if due.status == "due" and due.due_on < today:
        return PremiumStatus.OVERDUE
    return PremiumStatus(due.status)


def to_summary(policy: Policy) -> PolicySummary:
    return PolicySummary.model_validate({**_columns(policy), "walls": _walls(policy)})


def _columns(policy: Policy) -> dict[str, Any]:
    return {c.name: getattr(policy, c.name) for c in Policy.__table__.columns}  # type: ignore[attr-defined]


def to_read(policy: Policy, premiums: Sequence[PremiumDue], today: date) -> PolicyRead:
    due = [p.due_on for p in premiums if p.status == "due"]
    return PolicyRead.model_validate(
        {
            **_columns(policy),
            "walls": _walls(policy),
            "allowed_next_states": allowed_next(POLICY_TRANSITIONS, policy.status),
            "return_visit": ReturnVisitRead.model_validate(policy.return_visit)
            if policy.return_visit
            else None,
            "premiums": [
                PremiumRead(
                    id=p.id,
                    instalment=p.instalment,
                    due_on=p.due_on,
                    amount=p.amount,
                    status=premium_status(p, today),
                    paid_on=p.paid_on,
                )
                for p in premiums
            ],
            "next_premium_due_on": min(due) if due else None,
            "lapses": list(policy.lapses),
        }
    )


def audit_view(policy: Policy) -> dict[str, Any]:
    return to_summary(policy).model_dump(mode="json") | {
        "receipt_signed_on": policy.receipt_signed_on.isoformat() if policy.receipt_signed_on else None,
        "in_force_on": policy.in_force_on.isoformat() if policy.in_force_on else None,
        "lapsed_on": policy.lapsed_on.isoformat() if policy.lapsed_on else None,
        "reinstated_on": policy.reinstated_on.isoformat() if policy.reinstated_on else None,
        "renewal_decision": policy.renewal_decision,
        "refund_amount": str(policy.refund_amount) if policy.refund_amount is not None else None,
        "surrender_value": str(policy.surrender_value) if policy.surrender_value is not None else None,
    }


async def premiums_of(*, session: AsyncSession, policy: Policy) -> list[PremiumDue]:
    stmt = (
        select(PremiumDue).where(col(PremiumDue.policy_id) == policy.id).order_by(col(PremiumDue.instalment))
    )
    return list((await session.execute(stmt)).scalars())


async def create_policy(
    *,
    session: AsyncSession,
    principal: Principal,
    application: Application,
    product: Product,
    data: IssueCreate,
) -> Policy:
    """The policy, as the insurer issued it, with the premium schedule of its mode and term; the
    first instalment is the payment recorded against the application before issue."""
    first = await premiums.first_premium_of(session, application.id)
    if first is None:
        raise RuleConflict(
            "the first premium has not been recorded: make sure the money has arrived (确保款项到账, "
            "procedure 三.7) and record it on the application before issuing",
            extra={"missing": "first_premium"},
        )
    if first.paid_on > data.issued_on:
        raise InvalidField(
            "issued_on",
            f"issued_on {data.issued_on.isoformat()} is before the first premium's paid_on "
            f"{first.paid_on.isoformat()}: the policy is issued once the money has arrived",
        )
    now = utc_now()
    term = CoverageTerm(product.coverage_term)
    expires_on = cover_ends_on(
        term=term,
        years=product.coverage_years,
        effective_on=data.effective_on,
        insured_birth_date=application.insured_birth_date,
    )
    if expires_on is not None and expires_on <= data.effective_on:
        raise InvalidField(
            "effective_on", f"the cover would end on {expires_on.isoformat()}, before it takes effect"
        )
    policy = Policy(
        application_id=application.id,
        policy_number=data.policy_number,
        insurer=product.insurer,
        product_id=product.id,
        product_name=product.name,
        category=product.category,
        kind=product.kind,
        client_id=application.client_id,
        insured_member_id=application.insured_member_id,
        insured_name=application.insured_name,
        owner_agent_id=application.owner_agent_id,
        team_id=application.team_id,
        status="issued",
        sum_insured=application.sum_insured,
        annual_premium=application.annual_premium,
        payment_years=application.payment_years,
        walls=list(product.walls),
        cooling_off_days=product.cooling_off_days,
        issued_on=data.issued_on,
        issue_reference=data.insurer_reference,
        effective_on=data.effective_on,
        coverage_term=term.value,
        premium_mode=product.premium_mode,
        grace_days=product.grace_days,
        waiting_days=product.waiting_days,
        renewable=term is CoverageTerm.ONE_YEAR_RENEWABLE,
        expires_on=expires_on,
        waiting_ends_on=data.effective_on + timedelta(days=product.waiting_days)
        if product.waiting_days
        else None,
        lapses=[],
        client_reviewed_on=await review_clock.last_review_of(session, application.client_id),
        version=1,
        created_at=now,
        updated_at=now,
    )
    await _insert_unique(session, policy)
    await premiums.create_schedule(session=session, policy=policy, first=first)
    await trail.record(
        session,
        principal=principal,
        action="policy.issued",
        resource_type=RESOURCE,
        resource_id=policy.id,
        after=audit_view(policy),
    )
    return policy


async def _insert_unique(session: AsyncSession, policy: Policy) -> None:
    insurer, number = policy.insurer, policy.policy_number
    taken = select(col(Policy.id)).where(col(Policy.insurer) == insurer, col(Policy.policy_number) == number)
    if (await session.execute(taken)).first() is not None:
        raise DuplicatePolicyNumber(insurer, number)
    session.add(policy)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent issue took the number between the check and the insert
        raise DuplicatePolicyNumber(insurer, number) from exc


async def move_policy(
    session: AsyncSession, principal: Principal, policy: Policy, target: str, apply: Any
) -> Policy:
    ensure_transition(POLICY_TRANSITIONS, resource=RESOURCE, current=policy.status, requested=target)
    before = audit_view(policy)
    apply()
    policy.status = target
    policy.version += 1
    policy.updated_at = utc_now()
    await session.flush()
    await collectable.sync(session, policy)
    await trail.record(
        session,
        principal=principal,
        action=f"policy.{target}",
        resource_type=RESOURCE,
        resource_id=policy.id,
        before=before,
        after=audit_view(policy),
    )
    return policy


def not_future(field: str, value: date, today: date) -> None:
    """422 on ``field`` for a date after today (nothing is recorded ahead of time)."""
    if value > today:
        raise InvalidField(field, f"cannot be in the future (today is {today.isoformat()})")


async def sign_receipt(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy, data: ReceiptCreate
) -> Policy:
    """The receipt date starts the cooling-off period: it ends ``cooling_off_days`` later."""
    ensure_transition(
        POLICY_TRANSITIONS, resource=RESOURCE, current=policy.status, requested="receipt_signed"
    )
    if data.signed_on < policy.issued_on:
        raise InvalidField(
            "signed_on",
            f"signed_on {data.signed_on.isoformat()} is before issued_on {policy.issued_on.isoformat()}",
        )
    not_future("signed_on", data.signed_on, tools.clock.today())

    def apply() -> None:
        policy.receipt_signed_on = data.signed_on
        policy.cooling_off_ends_on = data.signed_on + timedelta(days=policy.cooling_off_days)

    return await move_policy(session, principal, policy, "receipt_signed", apply)


async def mark_in_force(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy
) -> Policy:
    """After a return visit that passed, the policy is confirmed in force.

    Its in-force date is the contract's effective date, not the day of this call: the insurer bears
    the risk from the agreed time (保险法 §14), the cooling-off period is a right to cancel, not a
    gap in cover, and the return visit confirms the sale rather than starting cover."""

    def apply() -> None:
        policy.in_force_on = policy.effective_on

    return await move_policy(session, principal, policy, "in_force", apply)


async def _void_unpaid(session: AsyncSession, policy: Policy, after: date | None = None) -> None:
    for due in await premiums_of(session=session, policy=policy):
        if due.status == "due" and (after is None or due.due_on > after):
            due.status = "void"


async def cancel(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy, data: CancellationCreate
) -> Policy:
    """Cancellation within the cooling-off period: void from the start, premiums paid refunded."""
    ensure_transition(POLICY_TRANSITIONS, resource=RESOURCE, current=policy.status, requested="cancelled")
    assert policy.receipt_signed_on is not None
    assert policy.cooling_off_ends_on is not None
    not_future("requested_on", data.requested_on, tools.clock.today())
    if data.requested_on < policy.receipt_signed_on:
        raise InvalidField("requested_on", "cannot be before the receipt was signed")
    if data.requested_on > policy.cooling_off_ends_on:
        raise RuleConflict(
            f"the cooling-off period ended on {policy.cooling_off_ends_on.isoformat()}: the policy can no "
            "longer be cancelled for a full refund; surrender it instead",
            extra={"cooling_off_ends_on": policy.cooling_off_ends_on.isoformat(), "alternative": "surrender"},
        )
    paid = sum(
        (p.amount for p in await premiums_of(session=session, policy=policy) if p.status == "paid"),
        Decimal(0),
    )
    await _void_unpaid(session, policy)

    def apply() -> None:
        policy.ended_on = data.requested_on
        policy.refund_amount = paid

    return await move_policy(session, principal, policy, "cancelled", apply)


async def surrender(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy, data: SurrenderCreate
) -> Policy:
    """Surrender after the cooling-off period, for the cash value; cover ends on the date."""
    ensure_transition(POLICY_TRANSITIONS, resource=RESOURCE, current=policy.status, requested="surrendered")
    assert policy.cooling_off_ends_on is not None
    not_future("requested_on", data.requested_on, tools.clock.today())
    if data.requested_on <= policy.cooling_off_ends_on:
        raise RuleConflict(
            f"the policy is in its cooling-off period until {policy.cooling_off_ends_on.isoformat()}: "
            "cancel it instead, for a full refund",
            extra={
                "cooling_off_ends_on": policy.cooling_off_ends_on.isoformat(),
                "alternative": "cancellation",
            },
        )
    await _void_unpaid(session, policy, after=data.requested_on)

    def apply() -> None:
        policy.ended_on = data.requested_on
        policy.surrender_value = data.surrender_value

    return await move_policy(session, principal, policy, "surrendered", apply)


async def record_payment(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    policy: Policy,
    premium_id: uuid.UUID,
    data: PaymentCreate,
) -> Policy:
    """A premium instalment was paid (amount, date, method, reference)."""
    await premiums.record_payment(
        session=session,
        principal=principal,
        policy=policy,
        premium_id=premium_id,
        data=data,
        today=tools.clock.today(),
    )
    return policy


def grace_ends_on(policy: Policy, due: PremiumDue) -> date:
    """The last day of the grace period of an unpaid instalment (保险法 §36: 60 days by default)."""
    return due.due_on + timedelta(days=policy.grace_days)


def lapse_date(policy: Policy, premiums: Sequence[PremiumDue]) -> date | None:
    """The day an unpaid instalment lapses the policy (the day after its grace period), if any."""
    unpaid = [p for p in premiums if p.status == "due"]
    if not unpaid:
        return None
    return grace_ends_on(policy, min(unpaid, key=lambda p: p.due_on)) + timedelta(days=1)


def in_force_on(policy: Policy, on: date, premiums: Sequence[PremiumDue] = ()) -> InForceRead:
    """Whether the policy covered ``on``: the one rule every reader uses (claims ask it over HTTP).

    Not in force: cancelled within the cooling-off period (void from the start); before the
    effective date; after a surrender; on or after the term's end (``expires_on``); on a day of a
    lapse (from the day after the grace period until reinstatement — cover is not restored for
    the lapse itself — or for good once terminated). With ``premiums``, a lapse the sweep has not
    persisted yet counts too. Covered days inside the waiting period are flagged, not refused.
    """
    reason: str | None = None
    if policy.status == "cancelled":
        reason = "cancelled within the cooling-off period: void from the start"
    elif on < policy.effective_on:
        reason = f"not yet effective (effective on {policy.effective_on.isoformat()})"
    elif policy.ended_on is not None and policy.ended_on < on and policy.status == "surrendered":
        reason = f"ended on {policy.ended_on.isoformat()} ({policy.status})"
    elif policy.expires_on is not None and on >= policy.expires_on:
        renewed = " (renewed as a new term)" if policy.renewed_to_id else ""
        reason = f"the term ended: cover ran to the day before {policy.expires_on.isoformat()}{renewed}"
    else:
        reason = _lapse_reason(policy, on, premiums)
    waiting = reason is None and policy.waiting_ends_on is not None and on < policy.waiting_ends_on
    return InForceRead(
        policy_id=policy.id,
        on=on,
        in_force=reason is None,
        reason=reason,
        in_waiting_period=waiting,
        waiting_ends_on=policy.waiting_ends_on,
    )


def _lapse_reason(policy: Policy, on: date, premiums: Sequence[PremiumDue]) -> str | None:
    for lapse in policy.lapses:
        start = date.fromisoformat(lapse["lapsed_on"])
        end = date.fromisoformat(lapse["ended_on"]) if lapse.get("ended_on") else None
        if start <= on and (end is None or on < end):
            if policy.status == "terminated" and end is None and policy.ended_on is not None:
                return (
                    f"terminated on {policy.ended_on.isoformat()}: lapsed on {start.isoformat()} "
                    "and not reinstated within two years"
                )
            return f"lapsed (中止) on {start.isoformat()}: a premium was unpaid past the grace period"
    if policy.status in ("issued", "receipt_signed", "return_visit_done", "in_force"):
        pending = lapse_date(policy, premiums)
        if pending is not None and pending <= on:
            return f"lapsed (中止) on {pending.isoformat()}: a premium was unpaid past the grace period"
    return None


async def list_policies(
    *,
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> PolicyPage:
    """One page of the policies the caller can see, newest first."""
    conditions = []
    if client_id is not None:
        conditions.append(col(Policy.client_id) == client_id)
    if status is not None:
        conditions.append(col(Policy.status) == status)
    rows, next_cursor = await repository.recent_page(
        session=session, model=Policy, principal=principal, conditions=conditions, cursor=cursor, limit=limit
    )
    return PolicyPage(items=[to_summary(r) for r in rows], next_cursor=next_cursor)
