"""A policy's life after the cooling-off period: reinstatement after a lapse, renewal of a term.

Lapse, expiry and termination happen by the calendar (``services/policies/sweep.py``); the two
moves here are the client's: reinstatement (复效, 保险法 §37) and the renewal decision.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.workflow import ensure_transition
from services.policies import review_clock, trail
from services.policies.errors import InvalidField, RuleConflict
from services.policies.issued import premiums
from services.policies.issued.schemas import ReinstatementCreate, RenewalCreate, RenewalDecision
from services.policies.issued.service import (
    RESOURCE,
    _insert_unique,
    audit_view,
    move_policy,
    not_future,
    premiums_of,
)
from services.policies.models import Policy
from services.policies.terms import REINSTATEMENT_YEARS, RENEWAL_NOTICE_DAYS, add_years
from services.policies.tools import Tools
from services.policies.transitions import POLICY_TRANSITIONS

REINSTATEMENT_CONTEXT = "policies.reinstatement"
RENEWABLE_STATES = ("issued", "receipt_signed", "return_visit_done", "in_force")


def reinstatement_deadline(lapsed_on: date) -> date:
    """The first day reinstatement is no longer possible: two years after the lapse (§37)."""
    return add_years(lapsed_on, REINSTATEMENT_YEARS)


async def reinstate(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy, data: ReinstatementCreate
) -> Policy:
    """复效: within 2 years of the lapse, with a new health disclosure, the insurer's opinion on it,
    and every instalment due up to the request paid in one payment. Cover resumes on the request
    date; the days of the lapse stay uncovered."""
    ensure_transition(POLICY_TRANSITIONS, resource=RESOURCE, current=policy.status, requested="in_force")
    assert policy.lapsed_on is not None
    today = tools.clock.today()
    not_future("requested_on", data.requested_on, today)
    not_future("arrears.paid_on", data.arrears.paid_on, today)
    if data.requested_on < policy.lapsed_on:
        raise InvalidField("requested_on", f"the policy lapsed on {policy.lapsed_on.isoformat()}")
    deadline = reinstatement_deadline(policy.lapsed_on)
    if data.requested_on >= deadline:
        raise RuleConflict(
            f"reinstatement is possible for two years after the lapse (保险法 §37): the policy lapsed on "
            f"{policy.lapsed_on.isoformat()}, the last day was {(deadline - timedelta(days=1)).isoformat()}",
            extra={"lapsed_on": policy.lapsed_on.isoformat(), "reinstatement_until": deadline.isoformat()},
        )
    if policy.expires_on is not None and data.requested_on >= policy.expires_on:
        raise RuleConflict(f"the term ended on {policy.expires_on.isoformat()}: nothing left to reinstate")
    dues = [
        d
        for d in await premiums_of(session=session, policy=policy)
        if d.status == "due" and d.due_on <= data.requested_on
    ]
    arrears = sum((d.amount for d in dues), start=Decimal(0))
    if not dues or data.arrears.amount != arrears:
        raise InvalidField(
            "arrears.amount",
            f"the arrears are every instalment due up to {data.requested_on.isoformat()}: {arrears} "
            f"(got {data.arrears.amount})",
        )
    for due in dues:
        due.status = "paid"
        due.paid_on = data.arrears.paid_on
    session.add(premiums.arrears_payment(policy, dues, data.arrears))
    sealed = tools.seal(
        {
            "health_disclosure": [a.model_dump() for a in data.health_disclosure],
            "pre_underwriting_opinion": data.pre_underwriting_opinion.value,
        },
        context=REINSTATEMENT_CONTEXT,
    )

    def apply() -> None:
        lapses = [dict(x) for x in policy.lapses]
        lapses[-1]["ended_on"] = data.requested_on.isoformat()
        policy.lapses = lapses
        policy.lapsed_on = None
        policy.reinstated_on = data.requested_on
        policy.reinstatement_cipher = sealed

    await move_policy(session, principal, policy, "in_force", apply)
    return policy


async def decide_renewal(
    *, session: AsyncSession, tools: Tools, principal: Principal, policy: Policy, data: RenewalCreate
) -> Policy:
    """The client's decision on a one-year renewable term, in the 60 days before it ends.

    ``renew``/``change``: a new policy for the next term, linked to this one, taking effect the day
    this one ends (continuous cover) with no new waiting period; its first instalment is due on
    that day, with the grace period of any instalment. ``decline``: the term expires on its date.
    Returns the policy the decision made (the new term, or this one when declined)."""
    if not policy.renewable:
        raise RuleConflict(
            f"{policy.product_name} is not a one-year renewable product: there is nothing to renew",
            extra={"coverage_term": policy.coverage_term},
        )
    if policy.status not in RENEWABLE_STATES:
        raise RuleConflict(f"the policy is {policy.status}: only a live policy is renewed")
    if policy.renewal_decision is not None:
        raise RuleConflict(f"the renewal was already decided: {policy.renewal_decision}")
    assert policy.expires_on is not None
    today = tools.clock.today()
    opens = policy.expires_on.toordinal() - max(RENEWAL_NOTICE_DAYS)
    if today.toordinal() < opens or today >= policy.expires_on:
        raise RuleConflict(
            f"the renewal is decided in the {max(RENEWAL_NOTICE_DAYS)} days before the term ends "
            f"({policy.expires_on.isoformat()})",
            extra={"expires_on": policy.expires_on.isoformat()},
        )
    if data.decision is RenewalDecision.DECLINE:
        for field in ("policy_number", "sum_insured", "annual_premium"):
            if getattr(data, field) is not None:
                raise InvalidField(field, "a declined renewal has no new term")
        return await _decided(session, principal, policy, data.decision)
    if data.policy_number is None:
        raise InvalidField("policy_number", "the new term's policy number is required")
    if data.decision is RenewalDecision.RENEW and data.sum_insured is not None:
        raise InvalidField("sum_insured", "a renewal as is keeps the sum insured; use decision 'change'")
    now = utc_now()
    renewed = Policy(
        **{
            c: getattr(policy, c)
            for c in (
                "application_id",
                "insurer",
                "product_id",
                "product_name",
                "category",
                "kind",
                "client_id",
                "insured_member_id",
                "insured_name",
                "owner_agent_id",
                "team_id",
                "payment_years",
                "walls",
                "cooling_off_days",
                "coverage_term",
                "premium_mode",
                "grace_days",
                "waiting_days",
                "renewable",
            )
        },
        policy_number=data.policy_number,
        status="in_force",
        sum_insured=data.sum_insured or policy.sum_insured,
        annual_premium=data.annual_premium or policy.annual_premium,
        issued_on=today,
        effective_on=policy.expires_on,
        in_force_on=policy.expires_on,
        expires_on=add_years(policy.expires_on, 1),
        waiting_ends_on=None,
        cooling_off_noted=True,
        lapses=[],
        client_reviewed_on=await review_clock.last_review_of(session, policy.client_id),
        renewed_from_id=policy.id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    await _insert_unique(session, renewed)
    await premiums.create_schedule(session=session, policy=renewed, first=None)
    await trail.record(
        session,
        principal=principal,
        action="policy.issued",
        resource_type=RESOURCE,
        resource_id=renewed.id,
        after=audit_view(renewed) | {"renewed_from_id": str(policy.id)},
    )
    policy.renewed_to_id = renewed.id
    await _decided(session, principal, policy, data.decision)
    return renewed


async def _decided(
    session: AsyncSession, principal: Principal, policy: Policy, decision: RenewalDecision
) -> Policy:
    before = audit_view(policy)
    policy.renewal_decision = decision.value
    policy.version += 1
    policy.updated_at = utc_now()
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="policy.renewal_declined" if decision is RenewalDecision.DECLINE else "policy.renewed",
        resource_type=RESOURCE,
        resource_id=policy.id,
        before=before,
        after=audit_view(policy)
        | {"renewed_to_id": str(policy.renewed_to_id) if policy.renewed_to_id else None},
    )
    return policy
