"""The tools the rules share (cipher, settings, business clock) and the converters from rows to the
public, masked read schemas (also what the audit trail records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Row

from crmkit.clock import BusinessClock
from crmkit.crypto import FieldCipher, mask_middle
from services.claims.checklists import CHECKLISTS, ClaimType
from services.claims.config import Settings
from services.claims.models import Claim, ClaimDocument, ClaimEvent, ClaimRecord
from services.claims.schemas import (
    ChecklistItem,
    ChecklistRead,
    ClaimantRead,
    ClaimantRelationship,
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


def client_update_due_on(claim: ClaimRecord, tools: Tools) -> date | None:
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


def _read_fields(claim: ClaimRecord, tools: Tools) -> dict[str, Any]:
    status = ClaimStatus(claim.status)
    return {
        "id": claim.id,
        "policy_id": claim.policy_id,
        "policy_number": claim.policy_number,
        "insurer": claim.insurer,
        "product_name": claim.product_name,
        "client_id": claim.client_id,
        "owner_agent_id": claim.owner_agent_id,
        "team_id": claim.team_id,
        "claim_type": ClaimType(claim.claim_type),
        "incident_date": claim.incident_date,
        "in_waiting_period": claim.in_waiting_period,
        "waiting_period_ends_on": claim.waiting_period_ends_on,
        "reported_on": claim.reported_on,
        "description": claim.description,
        "claimed_amount": claim.claimed_amount,
        "status": status,
        "allowed_next_statuses": sorted(CLAIM_TRANSITIONS[status]),
        "submitted_on": claim.submitted_on,
        "decision_due_on": claim.decision_due_on,
        "decided_on": claim.decided_on,
        "decision_reference": claim.decision_reference,
        "approved_amount": claim.approved_amount,
        "paid_amount": claim.paid_amount,
        "paid_on": claim.paid_on,
        "closing_reason": claim.closing_reason,
        "last_client_update_at": claim.last_client_update_at,
        "client_update_due_on": client_update_due_on(claim, tools),
        "documents_missing_since": claim.documents_missing_since,
        "version": claim.version,
        "created_at": claim.created_at,
        "updated_at": claim.updated_at,
        "closed_at": claim.closed_at,
    }


def _claimant_fields(claim: ClaimRecord) -> dict[str, Any]:
    return {
        "name": claim.claimant_name,
        "relationship": ClaimantRelationship(claim.claimant_relationship),
        "bank_name": claim.bank_name,
        "bank_account": claim.bank_account_masked,
    }


def to_read(claim: ClaimRecord, tools: Tools) -> ClaimRead:
    """The public (masked) view of a claim; also what the audit trail records."""
    return ClaimRead(**_read_fields(claim, tools), claimant=ClaimantRead(**_claimant_fields(claim)))


def listed_read(row: Row[Any], tools: Tools) -> ClaimRead:
    """``to_read`` of a row a work list read from the table, built without validating it again: its
    values have the columns' types, which the table's constraints already hold to the schema (the
    validators of its amounts and dates were most of a work list's CPU, issue 22)."""
    claimant = ClaimantRead.model_construct(**_claimant_fields(row))
    return ClaimRead.model_construct(**_read_fields(row, tools), claimant=claimant)


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
