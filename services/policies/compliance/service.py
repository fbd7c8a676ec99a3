"""Compliance evidence of the policies service (manual 六): holds on open applications after a
consent they depend on is withdrawn, and the findings a team lead reads for a period."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import BusinessClock, utc_now
from crmkit.scope import owner_scope
from services.policies import repository, trail
from services.policies.compliance.schemas import (
    ConsentHoldRead,
    ConsentWithdrawn,
    MissingTraceability,
    OverrideChoice,
    PlanOverride,
    PoliciesComplianceFindings,
    ReturnVisitFinding,
)
from services.policies.errors import RuleConflict
from services.policies.models import (
    Application,
    ComplianceFlag,
    ConsentHold,
    InformedChoice,
    Policy,
    Proposal,
    TraceabilityRecord,
)
from services.policies.peers import ClientDirectory
from services.policies.transitions import APPLICATION_FINAL

DEPENDENT_PURPOSES = frozenset({"sharing_with_insurer"})
"""Purposes open applications depend on: submission and the insurer's underwriting use them."""


async def hold_open_work(
    *, session: AsyncSession, principal: Principal, directory: ClientDirectory, data: ConsentWithdrawn
) -> int:
    """Flag each open application of the client (in the caller's scope) that depends on the purpose,
    once the clients service confirms the client has no active consent to it (409 otherwise)."""
    if data.purpose not in DEPENDENT_PURPOSES:
        return 0
    if await directory.consent_active(data.client_id, data.purpose):
        raise RuleConflict(f"the client's '{data.purpose}' consent is active: there is nothing to hold")
    stmt = select(Application).where(
        col(Application.client_id) == data.client_id,
        col(Application.status).not_in(APPLICATION_FINAL),
        repository.visible_to(Application, principal),
    )
    now = utc_now()
    held = 0
    for application in (await session.execute(stmt)).scalars():
        session.add(
            ConsentHold(
                application_id=application.id,
                client_id=application.client_id,
                owner_agent_id=application.owner_agent_id,
                team_id=application.team_id,
                purpose=data.purpose,
                raised_at=now,
            )
        )
        await trail.record(
            session,
            principal=principal,
            action="application.consent_hold",
            resource_type="application",
            resource_id=application.id,
            after={"purpose": data.purpose, "status": application.status},
        )
        held += 1
    await session.flush()
    return held


async def findings(
    *, session: AsyncSession, principal: Principal, clock: BusinessClock, first: date, last: date
) -> PoliciesComplianceFindings:
    """Everything the team lead must see for the period, in the caller's scope."""
    start, end = clock.start_of(first), clock.start_of(date.fromordinal(last.toordinal() + 1))
    return PoliciesComplianceFindings(
        from_date=first,
        to_date=last,
        overrides=await _overrides(session, principal, clock, start, end),
        missing_traceability=await _missing_traceability(session, principal, first, last),
        consent_holds=await _holds(session, principal, start, end),
        return_visits=await _return_visits(session, principal, first, last),
    )


async def _overrides(
    session: AsyncSession, principal: Principal, clock: BusinessClock, start: datetime, end: datetime
) -> list[PlanOverride]:
    stmt = (
        select(Proposal, InformedChoice)
        .join(
            InformedChoice,
            (col(InformedChoice.proposal_id) == col(Proposal.id))
            & (col(InformedChoice.revision) == col(Proposal.accepted_revision)),
        )
        .where(
            col(Proposal.status) == "accepted",
            col(Proposal.updated_at) >= start,
            col(Proposal.updated_at) < end,
            repository.visible_to(Proposal, principal),
        )
        .order_by(col(Proposal.updated_at), col(Proposal.id), col(InformedChoice.created_at))
    )
    plans: dict[object, PlanOverride] = {}
    for proposal, choice in (await session.execute(stmt)).all():
        plan = plans.get(proposal.id)
        if plan is None:
            plan = plans[proposal.id] = PlanOverride(
                proposal_id=proposal.id,
                client_id=proposal.client_id,
                owner_agent_id=proposal.owner_agent_id,
                accepted_on=clock.business_day(proposal.updated_at),
                revision=proposal.accepted_revision or 0,
                choices=[],
            )
        plan.choices.append(
            OverrideChoice(
                finding_code=choice.finding_code,
                item_id=choice.item_id,
                reason=choice.reason,
                channel=choice.channel,
                recorded_by=choice.recorded_by,
            )
        )
    return list(plans.values())


async def _missing_traceability(
    session: AsyncSession, principal: Principal, first: date, last: date
) -> list[MissingTraceability]:
    recorded = select(col(TraceabilityRecord.application_id))
    stmt = (
        select(Application)
        .where(
            col(Application.traceability_reasons) != [],
            col(Application.id).not_in(recorded),
            col(Application.status) != "withdrawn",
            col(Application.applied_on).between(first, last),
            repository.visible_to(Application, principal),
        )
        .order_by(col(Application.applied_on), col(Application.id))
    )
    return [
        MissingTraceability(
            application_id=a.id,
            client_id=a.client_id,
            owner_agent_id=a.owner_agent_id,
            status=a.status,
            applied_on=a.applied_on,
            reasons=list(a.traceability_reasons),
        )
        for a in (await session.execute(stmt)).scalars()
    ]


async def _holds(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime
) -> list[ConsentHoldRead]:
    stmt = (
        select(ConsentHold, col(Application.status))
        .join(Application, col(Application.id) == col(ConsentHold.application_id))
        .where(
            col(ConsentHold.raised_at) >= start,
            col(ConsentHold.raised_at) < end,
            owner_scope(principal, owner=col(ConsentHold.owner_agent_id), team=col(ConsentHold.team_id)),
        )
        .order_by(col(ConsentHold.raised_at), col(ConsentHold.id))
    )
    return [
        ConsentHoldRead(
            application_id=hold.application_id,
            client_id=hold.client_id,
            owner_agent_id=hold.owner_agent_id,
            purpose=hold.purpose,
            raised_at=hold.raised_at,
            application_status=status,
        )
        for hold, status in (await session.execute(stmt)).all()
    ]


async def _return_visits(
    session: AsyncSession, principal: Principal, first: date, last: date
) -> list[ReturnVisitFinding]:
    flags = select(ComplianceFlag).where(
        col(ComplianceFlag.raised_on).between(first, last),
        owner_scope(principal, owner=col(ComplianceFlag.owner_agent_id), team=col(ComplianceFlag.team_id)),
    )
    found = [
        ReturnVisitFinding(
            policy_id=f.policy_id,
            client_id=f.client_id,
            owner_agent_id=f.owner_agent_id,
            outcome="failed",
            reasons=[f.kind, *f.reasons],
            on=f.raised_on,
            open=f.resolved_on is None,
        )
        for f in (await session.execute(flags.order_by(col(ComplianceFlag.raised_on)))).scalars()
    ]
    # The return visit belongs inside the cooling-off period: over, and none passed, it is missing.
    missing = select(Policy).where(
        col(Policy.status) == "receipt_signed",
        col(Policy.cooling_off_ends_on).between(first, last),
        repository.visible_to(Policy, principal),
    )
    found += [
        ReturnVisitFinding(
            policy_id=p.id,
            client_id=p.client_id,
            owner_agent_id=p.owner_agent_id,
            outcome="missing",
            reasons=["cooling_off_ended_without_return_visit"],
            on=p.cooling_off_ends_on or last,
            open=True,
        )
        for p in (await session.execute(missing.order_by(col(Policy.cooling_off_ends_on)))).scalars()
    ]
    return found
