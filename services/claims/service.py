"""Business rules of a claim: its report, corrections, and moves between status nodes (checked
against ``transitions.CLAIM_TRANSITIONS``, side effects from ``transitions.ON_ENTRY``).
Flush, never commit; raise domain errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.pagination import page_of, read_cursor
from crmkit.problems import FieldError, Unprocessable
from crmkit.workflow import ensure_transition
from services.claims import repository
from services.claims.checklists import CHECKLISTS, ClaimType
from services.claims.documents import (
    extra_documents,
    outstanding,
    refresh_documents_missing_since,
    submit_received,
)
from services.claims.errors import ClaimClosed, DocumentsMissing, InvalidClaimField
from services.claims.models import Claim, ClaimDocument, ClaimEvent, infra_tables
from services.claims.peers import PolicyDirectory
from services.claims.repository import ClaimFilters
from services.claims.schemas import (
    ClaimCreate,
    ClaimMove,
    ClaimPage,
    ClaimUpdate,
)
from services.claims.transitions import (
    CLAIM_DETAILS_EDITABLE,
    CLAIM_TRANSITIONS,
    MOVE_DATES,
    MOVE_FIELDS,
    NEEDS_COMPLETE_DOCUMENTS,
    ON_ENTRY,
    WITH_THE_AGENT,
    ClaimStatus,
    DocumentStatus,
    OnEntry,
)
from services.claims.views import (
    BANK_ACCOUNT_CONTEXT,
    RESOURCE,
    Tools,
    audit_view,
    seal_bank_account,
    to_detail,
    to_read,
)


def _check_dates(*, incident_date: date, reported_on: date, today: date) -> None:
    if incident_date > today:
        raise InvalidClaimField("incident_date", f"cannot be in the future (today is {today.isoformat()})")
    if reported_on > today:
        raise InvalidClaimField("reported_on", f"cannot be in the future (today is {today.isoformat()})")
    if reported_on < incident_date:
        raise InvalidClaimField("reported_on", "cannot be before the incident date")


async def report_claim(
    *, session: AsyncSession, tools: Tools, principal: Principal, policies: PolicyDirectory, data: ClaimCreate
) -> tuple[Claim, list[ClaimDocument]]:
    """Record a reported claim with its checklist; the policy must be the caller's and in force."""
    today = tools.clock.today()
    reported_on = data.reported_on or today
    _check_dates(incident_date=data.incident_date, reported_on=reported_on, today=today)

    policy = await policies.find_policy(data.policy_id)
    if policy is None:
        raise InvalidClaimField("policy_id", "no such policy in your scope")
    in_force = await policies.in_force_on(data.policy_id, data.incident_date)
    if in_force is None:
        raise InvalidClaimField("policy_id", "no such policy in your scope")
    if not in_force.in_force:
        why = f": {in_force.reason}" if in_force.reason else ""
        raise InvalidClaimField(
            "incident_date", f"the policy was not in force on {data.incident_date.isoformat()}{why}"
        )

    now = tools.clock.now()
    claim = Claim(
        policy_id=policy.id,
        client_id=policy.client_id,
        owner_agent_id=policy.owner_agent_id,
        team_id=policy.team_id,
        policy_number=policy.policy_number,
        insurer=policy.insurer,
        product_name=policy.product_name,
        claim_type=data.claim_type.value,
        incident_date=data.incident_date,
        in_waiting_period=in_force.in_waiting_period,
        waiting_period_ends_on=in_force.waiting_ends_on if in_force.in_waiting_period else None,
        reported_on=reported_on,
        description=data.description,
        claimed_amount=data.claimed_amount,
        claimant_name=data.claimant.name,
        claimant_relationship=data.claimant.relationship.value,
        bank_name=data.claimant.bank_name,
        status=ClaimStatus.REPORTED.value,
        # The client told the agent about it: that conversation is the first update. A claim
        # recorded days after it was reported has owed the client news since then.
        last_client_update_at=now if reported_on == today else tools.clock.start_of(reported_on),
        documents_missing_since=reported_on,
        version=1,
        created_at=now,
        updated_at=now,
    )
    seal_bank_account(claim, tools.cipher, data.claimant.bank_account)
    session.add(claim)
    await session.flush()
    documents = [
        ClaimDocument(
            claim_id=claim.id,
            position=position,
            code=item.code,
            name=item.name,
            required=True,
            status=DocumentStatus.MISSING.value,
            outstanding_since=reported_on,
            updated_at=now,
        )
        for position, item in enumerate(CHECKLISTS[ClaimType(data.claim_type)], start=1)
    ]
    session.add_all(documents)
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            kind="status_changed",
            occurred_at=now,
            actor=principal.actor,
            to_status=ClaimStatus.REPORTED.value,
            summary=data.description,
            recorded_at=now,
        )
    )
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.reported",
        resource_type=RESOURCE,
        resource_id=claim.id,
        after=to_detail(claim, documents, tools).model_dump(mode="json"),
    )
    return claim, documents


async def correct_claim(
    *, session: AsyncSession, tools: Tools, principal: Principal, claim: Claim, patch: ClaimUpdate
) -> Claim:
    """Correct amount, claimant or description while the file is with the agent."""
    given = patch.model_fields_set
    if not given:
        return claim
    if claim.status not in CLAIM_DETAILS_EDITABLE:
        allowed = ", ".join(sorted(CLAIM_DETAILS_EDITABLE))
        raise ClaimClosed(f"the claim is {claim.status}; its details can be corrected only while {allowed}")
    before = audit_view(claim, tools)
    bank_changed = patch.claimant is not None and patch.claimant.bank_account != _bank_account(claim, tools)
    if patch.claimed_amount is not None:
        claim.claimed_amount = patch.claimed_amount
    if "description" in given:
        claim.description = patch.description
    if patch.claimant is not None:
        claim.claimant_name = patch.claimant.name
        claim.claimant_relationship = patch.claimant.relationship.value
        claim.bank_name = patch.claimant.bank_name
        if bank_changed:
            seal_bank_account(claim, tools.cipher, patch.claimant.bank_account)
    old, new = audit.changed_fields(before, audit_view(claim, tools))
    if bank_changed and "claimant" not in new:
        # Two account numbers can share a mask; the trail must still show that it changed.
        old["claimant"], new["claimant"] = before["claimant"], audit_view(claim, tools)["claimant"]
    if not new:
        return claim
    claim.version += 1
    claim.updated_at = tools.clock.now()
    old["version"], new["version"] = before["version"], claim.version
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.corrected",
        resource_type=RESOURCE,
        resource_id=claim.id,
        before=old,
        after=new,
    )
    return claim


def _bank_account(claim: Claim, tools: Tools) -> str | None:
    if claim.bank_account_cipher is None:
        return None
    return tools.cipher.decrypt(claim.bank_account_cipher, context=BANK_ACCOUNT_CONTEXT)


async def list_claims(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
) -> ClaimPage:
    """One page of the claims the caller can see, newest first."""
    rows = await repository.list_visible(
        session=session,
        principal=principal,
        filters=filters,
        after=read_cursor(cursor, datetime, uuid.UUID),
        limit=limit,
    )
    return page_of(rows, limit, key=lambda c: (c.created_at, c.id), view=lambda c: to_read(c, tools))


def _check_move_fields(move: ClaimMove) -> None:
    """Each status takes its own fields (``MOVE_FIELDS``): missing ones and stray ones are both 422."""
    required, optional = MOVE_FIELDS.get(move.status, (frozenset(), frozenset()))
    given = {f for f in move.model_fields_set if getattr(move, f) is not None} - {"status", "note"}
    errors = [
        FieldError(field=f, message=f"required when the claim moves to {move.status}")
        for f in sorted(required - given)
    ] + [
        FieldError(field=f, message=f"does not go with a move to {move.status}")
        for f in sorted(given - required - optional)
    ]
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


def _check_documents_complete(target: ClaimStatus, documents: list[ClaimDocument]) -> None:
    """Handing the file to the insurer needs every required item in (409 naming the rest)."""
    if target not in NEEDS_COMPLETE_DOCUMENTS:
        return
    missing = outstanding(documents)
    if missing:
        raise DocumentsMissing(requested=target, missing=[(d.code, d.name, d.status) for d in missing])


def _check_move_dates(claim: Claim, move: ClaimMove, today: date) -> None:
    """The dates a move carries (``MOVE_DATES``): not in the future, not before the claim's own."""
    for field, claim_fields in MOVE_DATES.items():
        day: date | None = getattr(move, field)
        if day is None:
            continue
        if day > today:
            raise InvalidClaimField(field, f"cannot be in the future (today is {today.isoformat()})")
        for claim_field in claim_fields:
            earlier: date | None = getattr(claim, claim_field)
            if earlier is not None and day < earlier:
                raise InvalidClaimField(
                    field, f"{field} {day.isoformat()} is before {claim_field} {earlier.isoformat()}"
                )


def check_move(claim: Claim, documents: list[ClaimDocument], move: ClaimMove, today: date) -> None:
    """Everything a move must pass before anything changes: 422 for its fields, 409 for the table."""
    _check_move_fields(move)
    ensure_transition(CLAIM_TRANSITIONS, resource="claim", current=claim.status, requested=move.status.value)
    _check_documents_complete(move.status, documents)
    _check_move_dates(claim, move, today)


@dataclass(slots=True)
class _Move:
    """One move under way: what the steps of ``ON_ENTRY`` read and change."""

    session: AsyncSession
    tools: Tools
    claim: Claim
    current: ClaimStatus
    move: ClaimMove
    documents: list[ClaimDocument]
    today: date
    now: datetime


def _hand_over(m: _Move) -> None:
    if m.current not in WITH_THE_AGENT:
        return
    submit_received(m.documents, m.now)
    handed_over = m.move.submitted_on or m.today
    m.claim.submitted_on = m.claim.submitted_on or handed_over
    m.claim.decision_due_on = handed_over + timedelta(days=m.tools.settings.decision_days)


def _add_requested_documents(m: _Move) -> None:
    if m.move.documents:
        added = extra_documents(m.claim, m.documents, m.move.documents, m.tools)
        m.session.add_all(added)
        m.documents = [*m.documents, *added]


def _record_approval(m: _Move) -> None:
    m.claim.approved_amount = m.move.approved_amount


def _record_decision_day(m: _Move) -> None:
    m.claim.decided_on = m.move.decided_on or m.today
    m.claim.decision_reference = m.move.insurer_reference


def _record_payment(m: _Move) -> None:
    m.claim.paid_amount, m.claim.paid_on = m.move.paid_amount, m.move.paid_on or m.today


def _record_closing_reason(m: _Move) -> None:
    if m.move.reason is not None:
        m.claim.closing_reason = m.move.reason


def _close(m: _Move) -> None:
    m.claim.closed_at = m.now


ENTRY_STEPS: Mapping[OnEntry, Callable[[_Move], None]] = MappingProxyType(
    {
        OnEntry.HAND_OVER: _hand_over,
        OnEntry.ADD_REQUESTED_DOCUMENTS: _add_requested_documents,
        OnEntry.RECORD_APPROVAL: _record_approval,
        OnEntry.RECORD_DECISION_DAY: _record_decision_day,
        OnEntry.RECORD_PAYMENT: _record_payment,
        OnEntry.RECORD_CLOSING_REASON: _record_closing_reason,
        OnEntry.CLOSE: _close,
    }
)


def _enter(m: _Move) -> None:
    """The claim's new status, with what entering it does (``ON_ENTRY``), and the keys that follow."""
    for step in ON_ENTRY[m.move.status]:
        ENTRY_STEPS[step](m)
    m.claim.status = m.move.status.value
    refresh_documents_missing_since(m.claim, m.documents)
    m.claim.version += 1
    m.claim.updated_at = m.now


async def _record_move(m: _Move, principal: Principal, before: dict[str, object]) -> None:
    """The timeline entry and the audit row of a move (its reason, if any, is the entry's summary)."""
    m.session.add(
        ClaimEvent(
            claim_id=m.claim.id,
            kind="status_changed",
            occurred_at=m.now,
            actor=principal.actor,
            from_status=m.current.value,
            to_status=m.move.status.value,
            summary=m.move.reason if m.move.reason is not None else m.move.note,
            recorded_at=m.now,
        )
    )
    await m.session.flush()
    old, new = audit.changed_fields(before, audit_view(m.claim, m.tools))
    await audit.record(
        m.session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.status_changed",
        resource_type=RESOURCE,
        resource_id=m.claim.id,
        before=old,
        after=new,
    )


async def move_claim(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    claim: Claim,
    documents: list[ClaimDocument],
    move: ClaimMove,
) -> list[ClaimDocument]:
    """Move the claim to its next status node; returns the (possibly extended) checklist."""
    today = tools.clock.today()
    check_move(claim, documents, move, today)
    before = audit_view(claim, tools)
    m = _Move(
        session=session,
        tools=tools,
        claim=claim,
        current=ClaimStatus(claim.status),
        move=move,
        documents=documents,
        today=today,
        now=tools.clock.now(),
    )
    _enter(m)
    await _record_move(m, principal, before)
    return m.documents
