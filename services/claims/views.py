"""The tools the rules share (cipher, settings, business clock) and the converters from rows to the
public, masked read schemas (also what the audit trail records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from crmkit.clock import BusinessClock
from crmkit.crypto import FieldCipher, mask_middle
from services.claims.checklists import CHECKLISTS
from services.claims.config import Settings
from services.claims.models import Claim, ClaimDocument, ClaimEvent
from services.claims.schemas import (
    ChecklistItem,
    ChecklistRead,
    ClaimantRead,
    ClaimDetail,
    ClaimRead,
    DocumentRead,
    TimelineEntry,
)
from services.claims.transitions import CLAIM_TRANSITIONS, DOCUMENT_TRANSITIONS, ClaimStatus, DocumentStatus

RESOURCE = "claim"
BANK_ACCOUNT_CONTEXT = "claims.bank_account"


@dataclass(frozen=True, slots=True)
class Tools:
    """What the rules need beyond the session: the field cipher, the settings and the business clock."""

    cipher: FieldCipher
    settings: Settings
    clock: BusinessClock


def client_update_due_on(claim: Claim, tools: Tools) -> date | None:
    """The business day the next weekly client update is due (None once the claim is closed)."""
    if claim.closed_at is not None:
        return None
    interval = timedelta(days=tools.settings.client_update_interval_days)
    return tools.clock.business_day(claim.last_client_update_at) + interval


def mask_bank_account(digits: str) -> str:
    return mask_middle(digits, keep_start=4, keep_end=4)


def seal_bank_account(claim: Claim, cipher: FieldCipher, digits: str | None) -> None:
    claim.bank_account_cipher = cipher.encrypt(digits, context=BANK_ACCOUNT_CONTEXT) if digits else None
    claim.bank_account_masked = mask_bank_account(digits) if digits else None


def to_read(claim: Claim, tools: Tools) -> ClaimRead:
    """The public (masked) view of a claim; also what the audit trail records."""
    status = ClaimStatus(claim.status)
    return ClaimRead(
        id=claim.id,
        policy_id=claim.policy_id,
        policy_number=claim.policy_number,
        insurer=claim.insurer,
        product_name=claim.product_name,
        client_id=claim.client_id,
        owner_agent_id=claim.owner_agent_id,
        team_id=claim.team_id,
        claim_type=claim.claim_type,
        incident_date=claim.incident_date,
        in_waiting_period=claim.in_waiting_period,
        waiting_period_ends_on=claim.waiting_period_ends_on,
        reported_on=claim.reported_on,
        description=claim.description,
        claimed_amount=claim.claimed_amount,
        claimant=ClaimantRead(
            name=claim.claimant_name,
            relationship=claim.claimant_relationship,
            bank_name=claim.bank_name,
            bank_account=claim.bank_account_masked,
        ),
        status=status,
        allowed_next_statuses=sorted(CLAIM_TRANSITIONS[status]),
        submitted_on=claim.submitted_on,
        decision_due_on=claim.decision_due_on,
        decided_on=claim.decided_on,
        decision_reference=claim.decision_reference,
        approved_amount=claim.approved_amount,
        paid_amount=claim.paid_amount,
        paid_on=claim.paid_on,
        closing_reason=claim.closing_reason,
        last_client_update_at=claim.last_client_update_at,
        client_update_due_on=client_update_due_on(claim, tools),
        documents_missing_since=claim.documents_missing_since,
        version=claim.version,
        created_at=claim.created_at,
        updated_at=claim.updated_at,
        closed_at=claim.closed_at,
    )


def document_read(document: ClaimDocument) -> DocumentRead:
    status = DocumentStatus(document.status)
    return DocumentRead(
        id=document.id,
        code=document.code,
        name=document.name,
        required=document.required,
        status=status,
        allowed_next_statuses=sorted(DOCUMENT_TRANSITIONS[status]),
        outstanding_since=document.outstanding_since,
        received_at=document.received_at,
        received_by=document.received_by,
        submitted_at=document.submitted_at,
        rejection_reason=document.rejection_reason,
        note=document.note,
    )


def to_detail(claim: Claim, documents: list[ClaimDocument], tools: Tools) -> ClaimDetail:
    return ClaimDetail(**to_read(claim, tools).model_dump(), documents=[document_read(d) for d in documents])


def timeline_entry(event: ClaimEvent) -> TimelineEntry:
    assert event.id is not None
    return TimelineEntry(
        id=event.id,
        kind=event.kind,
        occurred_at=event.occurred_at,
        actor=event.actor,
        from_status=event.from_status,
        to_status=event.to_status,
        channel=event.channel,
        summary=event.summary,
    )


def audit_view(claim: Claim, tools: Tools) -> dict[str, Any]:
    view = to_read(claim, tools).model_dump(mode="json")
    # Derived and bookkeeping fields would only add noise to every diff.
    for derived in ("allowed_next_statuses", "client_update_due_on", "updated_at"):
        view.pop(derived, None)
    return view


def checklist_reads() -> list[ChecklistRead]:
    """Every claim type with the documents it requires, in the order the client is asked for them."""
    return [
        ChecklistRead(
            claim_type=claim_type,
            documents=[ChecklistItem(code=d.code, name=d.name, name_zh=d.name_zh) for d in documents],
        )
        for claim_type, documents in CHECKLISTS.items()
    ]
