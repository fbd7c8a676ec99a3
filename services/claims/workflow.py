"""The two state machines of a claim, as transition tables (state → allowed next states).

Claim status nodes (manual §五.2: 资料已提交 → 审核中 → 理赔款到账): reported → collecting documents →
submitted → under review ⇄ more information requested → approved → paid; rejected and withdrawn end
it. A document checklist item: missing → received → submitted, and rejected (with a reason) back to
received when the client provides it again.
"""

from __future__ import annotations

from enum import StrEnum


class ClaimStatus(StrEnum):
    REPORTED = "reported"
    COLLECTING_DOCUMENTS = "collecting_documents"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    MORE_INFORMATION_REQUESTED = "more_information_requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


S = ClaimStatus

CLAIM_TRANSITIONS: dict[ClaimStatus, tuple[ClaimStatus, ...]] = {
    S.REPORTED: (S.COLLECTING_DOCUMENTS, S.WITHDRAWN),
    S.COLLECTING_DOCUMENTS: (S.SUBMITTED, S.WITHDRAWN),
    S.SUBMITTED: (S.UNDER_REVIEW, S.MORE_INFORMATION_REQUESTED, S.REJECTED, S.WITHDRAWN),
    S.UNDER_REVIEW: (S.MORE_INFORMATION_REQUESTED, S.APPROVED, S.REJECTED, S.WITHDRAWN),
    S.MORE_INFORMATION_REQUESTED: (S.UNDER_REVIEW, S.WITHDRAWN),
    S.APPROVED: (S.PAID,),
    S.PAID: (),
    S.REJECTED: (),
    S.WITHDRAWN: (),
}

MOVE_FIELDS: dict[ClaimStatus, tuple[frozenset[str], frozenset[str]]] = {
    S.SUBMITTED: (frozenset(), frozenset({"submitted_on"})),
    S.APPROVED: (frozenset({"approved_amount"}), frozenset()),
    S.PAID: (frozenset({"paid_amount"}), frozenset({"paid_on"})),
    S.REJECTED: (frozenset({"reason"}), frozenset()),
    S.WITHDRAWN: (frozenset(), frozenset({"reason"})),
    S.MORE_INFORMATION_REQUESTED: (frozenset(), frozenset({"documents"})),
}
"""Target status → (fields the move requires, fields it may carry); ``note`` goes with every move."""

CLOSED = frozenset(s for s, nexts in CLAIM_TRANSITIONS.items() if not nexts)
"""A claim in one of these is closed: no updates due, no deadlines, no documents to chase."""

AWAITING_DECISION = (S.SUBMITTED, S.UNDER_REVIEW)
"""The insurer holds the file: its decision deadline runs."""

NEEDS_COMPLETE_DOCUMENTS = frozenset({S.SUBMITTED, S.UNDER_REVIEW})
"""Entering these from the agent's side hands the file to the insurer: every required item must be in."""

DOCUMENTS_EDITABLE = frozenset(
    {S.REPORTED, S.COLLECTING_DOCUMENTS, S.SUBMITTED, S.UNDER_REVIEW, S.MORE_INFORMATION_REQUESTED}
)

CLAIM_DETAILS_EDITABLE = frozenset({S.REPORTED, S.COLLECTING_DOCUMENTS, S.MORE_INFORMATION_REQUESTED})


class DocumentStatus(StrEnum):
    MISSING = "missing"
    RECEIVED = "received"
    SUBMITTED = "submitted"
    REJECTED = "rejected"


D = DocumentStatus

DOCUMENT_TRANSITIONS: dict[DocumentStatus, tuple[DocumentStatus, ...]] = {
    D.MISSING: (D.RECEIVED,),
    D.RECEIVED: (D.SUBMITTED, D.REJECTED, D.MISSING),
    D.SUBMITTED: (D.REJECTED,),
    D.REJECTED: (D.RECEIVED,),
}

OUTSTANDING = frozenset({D.MISSING, D.REJECTED})
"""Items the client still owes (a rejected document must be provided again)."""
