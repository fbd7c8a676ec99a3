"""A claim's document checklist: items the client owes, moved by the checklist table
(``transitions.DOCUMENT_TRANSITIONS``), extra items the insurer asks for, and the claim's
``documents_missing_since`` that the work list reads. Flush, never commit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.workflow import ensure_transition
from services.claims.errors import ClaimClosed, InvalidClaimField
from services.claims.models import Claim, ClaimDocument, infra_tables
from services.claims.schemas import DocumentAdd, DocumentChange
from services.claims.transitions import (
    CLOSED,
    DOCUMENT_TRANSITIONS,
    DOCUMENTS_EDITABLE,
    ITEM_ON_ENTRY,
    OUTSTANDING,
    DocumentStatus,
    ItemOnEntry,
)
from services.claims.views import RESOURCE, Tools, document_read


def outstanding(documents: list[ClaimDocument]) -> list[ClaimDocument]:
    """Required items the client still owes."""
    return [d for d in documents if d.required and d.status in OUTSTANDING]


def refresh_documents_missing_since(claim: Claim, documents: list[ClaimDocument]) -> None:
    """The work list's key: since when the client has owed a required document (None: owes none)."""
    if claim.status in CLOSED:
        claim.documents_missing_since = None
        return
    since = [d.outstanding_since for d in outstanding(documents) if d.outstanding_since is not None]
    claim.documents_missing_since = min(since) if since else None


def submit_received(documents: list[ClaimDocument], now: datetime) -> None:
    """The file goes to the insurer: every received item is submitted with it."""
    for document in documents:
        if document.status == DocumentStatus.RECEIVED:
            document.status = DocumentStatus.SUBMITTED.value
            document.submitted_at = now
            document.updated_at = now


def extra_documents(
    claim: Claim, documents: list[ClaimDocument], extra: list[DocumentAdd], tools: Tools
) -> list[ClaimDocument]:
    """New checklist items after the last one, missing since today."""
    position = max((d.position for d in documents), default=0)
    today, now = tools.clock.today(), tools.clock.now()
    added = []
    for item in extra:
        position += 1
        added.append(
            ClaimDocument(
                claim_id=claim.id,
                position=position,
                code=f"extra_{position}",
                name=item.name,
                required=item.required,
                status=DocumentStatus.MISSING.value,
                outstanding_since=today,
                note=item.note,
                updated_at=now,
            )
        )
    return added


def _editable(claim: Claim) -> None:
    if claim.status not in DOCUMENTS_EDITABLE:
        raise ClaimClosed(f"the claim is {claim.status}; its checklist can no longer change")


def _check_change(document: ClaimDocument, change: DocumentChange) -> None:
    """The table allows the move, and a rejection reason goes with a rejection and nothing else."""
    if change.status != document.status:
        ensure_transition(
            DOCUMENT_TRANSITIONS, resource="document", current=document.status, requested=change.status.value
        )
    rejecting = change.status is DocumentStatus.REJECTED
    if rejecting and change.rejection_reason is None:
        raise InvalidClaimField("rejection_reason", "required when a document is rejected")
    if not rejecting and change.rejection_reason is not None:
        raise InvalidClaimField("rejection_reason", "only allowed when a document is rejected")


@dataclass(frozen=True, slots=True)
class _ItemMove:
    document: ClaimDocument
    principal: Principal
    now: datetime


def _stamp_received(move: _ItemMove) -> None:
    move.document.received_at, move.document.received_by = move.now, move.principal.user_id


def _clear_received(move: _ItemMove) -> None:
    move.document.received_at, move.document.received_by = None, None


def _stamp_submitted(move: _ItemMove) -> None:
    move.document.submitted_at = move.now


def _clear_rejection(move: _ItemMove) -> None:
    move.document.rejection_reason = None


ITEM_STEPS: Mapping[ItemOnEntry, Callable[[_ItemMove], None]] = MappingProxyType(
    {
        ItemOnEntry.STAMP_RECEIVED: _stamp_received,
        ItemOnEntry.CLEAR_RECEIVED: _clear_received,
        ItemOnEntry.STAMP_SUBMITTED: _stamp_submitted,
        ItemOnEntry.CLEAR_REJECTION: _clear_rejection,
    }
)


def _enter(
    document: ClaimDocument, target: DocumentStatus, principal: Principal, now: datetime, today: date
) -> None:
    """The item's new status, with what entering it does (``ITEM_ON_ENTRY``)."""
    move = _ItemMove(document=document, principal=principal, now=now)
    for step in ITEM_ON_ENTRY[target]:
        ITEM_STEPS[step](move)
    document.outstanding_since = today if target in OUTSTANDING else None
    document.status = target.value


async def change_document(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    claim: Claim,
    documents: list[ClaimDocument],
    document: ClaimDocument,
    change: DocumentChange,
) -> None:
    """Move one checklist item (received by whom and when; rejected with a reason)."""
    _editable(claim)
    _check_change(document, change)
    before = document_read(document).model_dump(mode="json")
    now = tools.clock.now()
    if change.status != document.status:
        _enter(document, change.status, principal, now, tools.clock.today())
    if change.status is DocumentStatus.REJECTED:
        document.rejection_reason = change.rejection_reason
    if "note" in change.model_fields_set:
        document.note = change.note
    old, new = audit.changed_fields(before, document_read(document).model_dump(mode="json"))
    if not new:
        return
    document.updated_at = now
    refresh_documents_missing_since(claim, documents)
    claim.version += 1
    claim.updated_at = now
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.document_changed",
        resource_type=RESOURCE,
        resource_id=claim.id,
        before={"document": document.code, **old},
        after={"document": document.code, **new, "claim_version": claim.version},
    )


async def add_document(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    claim: Claim,
    documents: list[ClaimDocument],
    item: DocumentAdd,
) -> ClaimDocument:
    """Add an item the insurer asked for to the checklist, as missing."""
    _editable(claim)
    (document,) = extra_documents(claim, documents, [item], tools)
    session.add(document)
    refresh_documents_missing_since(claim, [*documents, document])
    claim.version += 1
    claim.updated_at = tools.clock.now()
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.document_added",
        resource_type=RESOURCE,
        resource_id=claim.id,
        after={**document_read(document).model_dump(mode="json"), "claim_version": claim.version},
    )
    return document
