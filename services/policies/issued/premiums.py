"""Premiums as money that arrives: the schedule, the first premium before issue, instalments.

The first premium is recorded against the application, before ``issue``: the procedure's 三.7
asks the agent to make sure the money has arrived (确保款项到账) before the policy is delivered,
so a policy is never issued on a promise. At issue the first instalment of the schedule is the
payment already recorded (its date, its reference); nothing is marked paid by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from services.policies import trail
from services.policies.collectable import collectable
from services.policies.errors import InvalidField, PremiumNotFound, RuleConflict
from services.policies.evidence import ensure_order
from services.policies.issued.schemas import PaymentCreate, PaymentPurpose, PaymentRead
from services.policies.models import Application, Policy, PremiumDue, PremiumPayment, Product
from services.policies.terms import PremiumMode, instalment_amount, premium_schedule
from services.policies.transitions import POLICY

FIRST_PREMIUM_STATES = ("submitted", "underwriting", "requirements_pending", "approved")
"""The first premium is collected with the submitted application (投保时交首期保费), up to issue."""
CLOSED_TO_PAYMENTS = ("terminated", "cancelled", "surrendered", "expired")


def to_payment_read(payment: PremiumPayment) -> PaymentRead:
    return PaymentRead.model_validate(payment, from_attributes=True)


def first_instalment(application: Application, product: Product) -> Decimal:
    """What the first payment must be: the first instalment of the schedule the policy will have."""
    return instalment_amount(PremiumMode(product.premium_mode), application.annual_premium)


def not_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise InvalidField(field, f"cannot be in the future (today is {today.isoformat()})")


async def first_premium_of(session: AsyncSession, application_id: uuid.UUID) -> PremiumPayment | None:
    stmt = select(PremiumPayment).where(
        col(PremiumPayment.application_id) == application_id,
        col(PremiumPayment.purpose) == PaymentPurpose.FIRST_PREMIUM.value,
    )
    return (await session.execute(stmt)).scalars().first()


async def record_first_premium(
    *,
    session: AsyncSession,
    principal: Principal,
    application: Application,
    product: Product,
    data: PaymentCreate,
    today: date,
) -> PremiumPayment:
    """The first premium arrived (submitted to approved); it must be the first instalment in full."""
    if application.status not in FIRST_PREMIUM_STATES:
        raise RuleConflict(
            f"the first premium is recorded between submission and issue; this application is "
            f"{application.status}",
            extra={"allowed_states": list(FIRST_PREMIUM_STATES)},
        )
    # The money arrives with or after the signed application and by the issue date (evidence.py's chain:
    # applied_on ≤ first premium paid_on ≤ issued_on ≤ today).
    ensure_order("paid_on", data.paid_on, after=[("applied_on", application.applied_on)], today=today)
    if await first_premium_of(session, application.id) is not None:
        raise RuleConflict("the first premium of this application is already recorded")
    expected = first_instalment(application, product)
    if data.amount != expected:
        raise InvalidField(
            "amount", f"the first premium is the first instalment in full: {expected} (got {data.amount})"
        )
    payment = PremiumPayment(
        application_id=application.id,
        premium_due_ids=[],
        owner_agent_id=application.owner_agent_id,
        team_id=application.team_id,
        purpose=PaymentPurpose.FIRST_PREMIUM.value,
        amount=data.amount,
        paid_on=data.paid_on,
        method=data.method.value,
        reference=data.reference,
        created_at=utc_now(),
    )
    session.add(payment)
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="application.first_premium_paid",
        resource_type="application",
        resource_id=application.id,
        after=to_payment_read(payment).model_dump(mode="json"),
    )
    return payment


async def create_schedule(*, session: AsyncSession, policy: Policy, first: PremiumPayment | None) -> None:
    """The instalments of the mode and term; the first is the payment recorded before issue."""
    schedule = premium_schedule(
        mode=PremiumMode(policy.premium_mode),
        annual_premium=policy.annual_premium,
        payment_years=policy.payment_years,
        effective_on=policy.effective_on,
        ends_on=policy.expires_on,
    )
    dues = []
    for number, (due_on, amount) in enumerate(schedule, start=1):
        paid = number == 1 and first is not None
        due = PremiumDue(
            policy_id=policy.id,
            owner_agent_id=policy.owner_agent_id,
            team_id=policy.team_id,
            instalment=number,
            due_on=due_on,
            amount=amount,
            status="paid" if paid else "due",
            paid_on=first.paid_on if paid and first is not None else None,
            collectable=collectable(policy),
        )
        dues.append(due)
    session.add_all(dues)
    await session.flush()
    if first is not None and dues:
        first.policy_id = policy.id
        first.premium_due_ids = [dues[0].id]
        await session.flush()


def check_open_to_payments(policy: Policy) -> None:
    if policy.status in CLOSED_TO_PAYMENTS:
        raise RuleConflict(
            f"the policy is {policy.status}: no premium can be paid on it",
            extra={"policy_status": policy.status},
        )


async def record_payment(
    *,
    session: AsyncSession,
    principal: Principal,
    policy: Policy,
    premium_id: uuid.UUID,
    data: PaymentCreate,
    today: date,
) -> PremiumPayment:
    """One instalment paid in full. A lapsed policy is not revived by a payment: reinstatement is."""
    check_open_to_payments(policy)
    if policy.status == "lapsed":
        raise RuleConflict(
            "the policy is lapsed (中止): pay the arrears through a reinstatement (复效, 保险法 §37)",
            extra={"alternative": "reinstatement"},
        )
    due = await session.get(PremiumDue, premium_id, with_for_update=True)
    if due is None or due.policy_id != policy.id:
        raise PremiumNotFound()
    if due.status != "due":
        raise RuleConflict(f"this instalment is {due.status}; only a due instalment can be paid")
    not_future("paid_on", data.paid_on, today)
    if data.amount != due.amount:
        raise InvalidField("amount", f"the instalment is {due.amount} (got {data.amount})")
    due.status = "paid"
    due.paid_on = data.paid_on
    payment = _payment(policy, PaymentPurpose.INSTALMENT, [due], data)
    session.add(payment)
    policy.version += 1
    policy.updated_at = utc_now()
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="policy.premium_paid",
        resource_type=POLICY,
        resource_id=policy.id,
        before={"instalment": due.instalment, "status": "due"},
        after={
            "instalment": due.instalment,
            "status": "paid",
            "paid_on": data.paid_on.isoformat(),
            "amount": str(data.amount),
            "method": data.method.value,
        },
        diff=False,
    )
    return payment


def _payment(
    policy: Policy, purpose: PaymentPurpose, dues: Sequence[PremiumDue], data: PaymentCreate
) -> PremiumPayment:
    return PremiumPayment(
        application_id=policy.application_id,
        policy_id=policy.id,
        premium_due_ids=[d.id for d in dues],
        owner_agent_id=policy.owner_agent_id,
        team_id=policy.team_id,
        purpose=purpose.value,
        amount=data.amount,
        paid_on=data.paid_on,
        method=data.method.value,
        reference=data.reference,
        created_at=utc_now(),
    )


def arrears_payment(policy: Policy, dues: Sequence[PremiumDue], data: PaymentCreate) -> PremiumPayment:
    return _payment(policy, PaymentPurpose.ARREARS, dues, data)


async def payments_of(*, session: AsyncSession, policy: Policy) -> list[PremiumPayment]:
    stmt = (
        select(PremiumPayment)
        .where(col(PremiumPayment.application_id) == policy.application_id)
        .where((col(PremiumPayment.policy_id) == policy.id) | col(PremiumPayment.policy_id).is_(None))
        .order_by(col(PremiumPayment.paid_on), col(PremiumPayment.created_at))
    )
    return list((await session.execute(stmt)).scalars())
