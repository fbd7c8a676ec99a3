"""Status nodes and checklist items: moves checked against the transition tables, then applied."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.problems import FieldError, Unprocessable
from services.claims.errors import ClaimClosed, DocumentsMissing, IllegalTransition, InvalidClaimField
from services.claims.models import Claim, ClaimDocument, ClaimEvent, infra_tables
from services.claims.schemas import ClaimMove, DocumentAdd, DocumentChange
from services.claims.views import RESOURCE, Tools, audit_view, document_read
from services.claims.workflow import (
    CLAIM_TRANSITIONS,
    CLOSED,
    DOCUMENT_TRANSITIONS,
    DOCUMENTS_EDITABLE,
    MOVE_FIELDS,
    NEEDS_COMPLETE_DOCUMENTS,
    OUTSTANDING,
    ClaimStatus,
    DocumentStatus,
)


def _outstanding(documents: list[ClaimDocument]) -> list[ClaimDocument]:
    return [d for d in documents if d.required and d.status in OUTSTANDING]


def refresh_documents_missing_since(claim: Claim, documents: list[ClaimDocument]) -> None:
    """The work list's key: since when the client has owed a required document (None: owes none)."""
    if claim.status in CLOSED:
        claim.documents_missing_since = None
        return
    since = [d.outstanding_since for d in _outstanding(documents) if d.outstanding_since is not None]
    claim.documents_missing_since = min(since) if since else None


def _submit_received(documents: list[ClaimDocument], now: datetime) -> None:
    for document in documents:
        if document.status == DocumentStatus.RECEIVED:
            document.status = DocumentStatus.SUBMITTED.value
            document.submitted_at = now
            document.updated_at = now


def _extra_documents(
    claim: Claim, documents: list[ClaimDocument], extra: list[DocumentAdd], tools: Tools
) -> list[ClaimDocument]:
    position = max((d.position for d in documents), default=0)
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
                outstanding_since=tools.today(),
                note=item.note,
                updated_at=tools.now(),
            )
        )
    return added


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
    current, target = ClaimStatus(claim.status), move.status
    _check_move_fields(move)
    allowed = CLAIM_TRANSITIONS[current]
    if target not in allowed:
        raise IllegalTransition(what="claim", current=current, requested=target, allowed=allowed)
    if target in NEEDS_COMPLETE_DOCUMENTS:
        missing = _outstanding(documents)
        if missing:
            raise DocumentsMissing(requested=target, missing=[(d.code, d.name, d.status) for d in missing])

    today, now = tools.today(), tools.now()
    if target is ClaimStatus.PAID and move.paid_on is not None:
        if move.paid_on > today:
            raise InvalidClaimField("paid_on", f"cannot be in the future (today is {today.isoformat()})")
        if move.paid_on < claim.incident_date:
            raise InvalidClaimField("paid_on", "cannot be before the incident date")
    if move.submitted_on is not None:
        if move.submitted_on > today:
            raise InvalidClaimField("submitted_on", f"cannot be in the future (today is {today.isoformat()})")
        if move.submitted_on < claim.reported_on:
            raise InvalidClaimField("submitted_on", "cannot be before the claim was reported")
    before = audit_view(claim, tools)
    summary = move.note
    if target is ClaimStatus.SUBMITTED or (
        target is ClaimStatus.UNDER_REVIEW and current is ClaimStatus.MORE_INFORMATION_REQUESTED
    ):
        # The decision clock runs from complete documents (保险法 §23), so it restarts after a supplement.
        _submit_received(documents, now)
        handed_over = move.submitted_on or today
        claim.submitted_on = claim.submitted_on or handed_over
        claim.decision_due_on = handed_over + timedelta(days=tools.settings.decision_days)
    if move.documents:
        added = _extra_documents(claim, documents, move.documents, tools)
        session.add_all(added)
        documents = [*documents, *added]
    if target is ClaimStatus.APPROVED:
        claim.approved_amount = move.approved_amount
        claim.decided_on = today
    if target is ClaimStatus.PAID:
        claim.paid_amount, claim.paid_on = move.paid_amount, move.paid_on or today
    if target is ClaimStatus.REJECTED:
        claim.decided_on = today
    if move.reason is not None:
        claim.closing_reason = summary = move.reason

    claim.status = target.value
    if target in CLOSED:
        claim.closed_at = now
    refresh_documents_missing_since(claim, documents)
    claim.version += 1
    claim.updated_at = now
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            kind="status_changed",
            occurred_at=now,
            actor=principal.actor,
            from_status=current.value,
            to_status=target.value,
            summary=summary,
            recorded_at=now,
        )
    )
    await session.flush()
    old, new = audit.changed_fields(before, audit_view(claim, tools))
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.status_changed",
        resource_type=RESOURCE,
        resource_id=claim.id,
        before=old,
        after=new,
    )
    return documents


def _editable(claim: Claim) -> None:
    if claim.status not in DOCUMENTS_EDITABLE:
        raise ClaimClosed(f"the claim is {claim.status}; its checklist can no longer change")


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
    current, target = DocumentStatus(document.status), change.status
    if target != current:
        allowed = DOCUMENT_TRANSITIONS[current]
        if target not in allowed:
            raise IllegalTransition(what="document", current=current, requested=target, allowed=allowed)
    if target is DocumentStatus.REJECTED and change.rejection_reason is None:
        raise InvalidClaimField("rejection_reason", "required when a document is rejected")
    if target is not DocumentStatus.REJECTED and change.rejection_reason is not None:
        raise InvalidClaimField("rejection_reason", "only allowed when a document is rejected")

    before = document_read(document).model_dump(mode="json")
    now, today = tools.now(), tools.today()
    if target != current:
        document.status = target.value
        if target is DocumentStatus.RECEIVED:
            document.received_at, document.received_by = now, principal.user_id
            document.rejection_reason, document.outstanding_since = None, None
        elif target is DocumentStatus.SUBMITTED:
            document.submitted_at = now
        elif target is DocumentStatus.REJECTED:
            document.outstanding_since = today
        else:  # back to missing: what was received was not the right paper
            document.received_at, document.received_by, document.outstanding_since = None, None, today
    if target is DocumentStatus.REJECTED:
        document.rejection_reason = change.rejection_reason
    if "note" in change.model_fields_set:
        document.note = change.note
    after = document_read(document).model_dump(mode="json")
    old, new = audit.changed_fields(before, after)
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
    (document,) = _extra_documents(claim, documents, [item], tools)
    session.add(document)
    refresh_documents_missing_since(claim, [*documents, document])
    claim.version += 1
    claim.updated_at = tools.now()
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
