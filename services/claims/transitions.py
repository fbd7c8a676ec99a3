"""The two state machines of a claim, as data: transition tables (``crmkit.workflow``), the fields
each move takes, and what entering each state does besides changing the status.

Claim status nodes (manual §五.2: 资料已提交 → 审核中 → 理赔款到账): reported → collecting documents →
submitted → under review ⇄ more information requested → approved → paid; rejected and withdrawn end
it. A document checklist item: missing → received → submitted, and rejected (with a reason) back to
received when the client provides it again. The moves themselves are in ``service.py`` (claims) and
``documents.py`` (checklist items); both check them with ``crmkit.workflow.ensure_transition``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from crmkit.workflow import final_states, transition_table


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

CLAIM_TRANSITIONS = transition_table(
    {
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
)

MOVE_FIELDS: Mapping[ClaimStatus, tuple[frozenset[str], frozenset[str]]] = MappingProxyType(
    {
        S.SUBMITTED: (frozenset(), frozenset({"submitted_on"})),
        S.APPROVED: (frozenset({"approved_amount", "insurer_reference", "decided_on"}), frozenset()),
        S.PAID: (frozenset({"paid_amount"}), frozenset({"paid_on"})),
        S.REJECTED: (frozenset({"reason", "insurer_reference", "decided_on"}), frozenset()),
        S.WITHDRAWN: (frozenset(), frozenset({"reason"})),
        S.MORE_INFORMATION_REQUESTED: (frozenset(), frozenset({"documents"})),
    }
)
"""Target status → (fields the move requires, fields it may carry); ``note`` goes with every move.
An insurer's decision (approved, rejected) carries its reference and date (issue 16, item 5)."""

MOVE_DATES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "submitted_on": ("reported_on",),
        "decided_on": ("reported_on", "submitted_on"),
        "paid_on": ("incident_date", "decided_on"),
    }
)
"""A date a move may carry → the claim's dates it cannot precede (reported ≤ submitted ≤ decided ≤
paid); never in the future. A violation is a 422 naming both dates."""

CLOSED = final_states(CLAIM_TRANSITIONS)
"""A claim in one of these is closed: no updates due, no deadlines, no documents to chase."""

AWAITING_DECISION = (S.SUBMITTED, S.UNDER_REVIEW)
"""The insurer holds the file: its decision deadline runs."""

NEEDS_COMPLETE_DOCUMENTS = frozenset({S.SUBMITTED, S.UNDER_REVIEW})
"""Entering these from the agent's side hands the file to the insurer: every required item must be in."""

WITH_THE_AGENT = frozenset({S.REPORTED, S.COLLECTING_DOCUMENTS, S.MORE_INFORMATION_REQUESTED})
"""The agent holds the file: its details may be corrected, and entering ``NEEDS_COMPLETE_DOCUMENTS``
from here hands it over."""

CLAIM_DETAILS_EDITABLE = WITH_THE_AGENT

DOCUMENTS_EDITABLE = frozenset(
    {S.REPORTED, S.COLLECTING_DOCUMENTS, S.SUBMITTED, S.UNDER_REVIEW, S.MORE_INFORMATION_REQUESTED}
)


class OnEntry(StrEnum):
    """One thing a move does to the claim besides setting its status (steps in ``service.py``)."""

    HAND_OVER = "hand_over"
    """From the agent's side only (``WITH_THE_AGENT``): received items become submitted,
    ``submitted_on`` is set once, and the decision clock (保险法 §23: 30 days after complete
    documents) starts again from the hand-over day. Submitted → under review changes nothing."""
    ADD_REQUESTED_DOCUMENTS = "add_requested_documents"
    """The items the insurer asked for join the checklist, as missing."""
    RECORD_APPROVAL = "record_approval"
    """``approved_amount`` as the insurer approved it (may differ from the claimed amount)."""
    RECORD_DECISION_DAY = "record_decision_day"
    """``decided_on`` and ``decision_reference`` as the insurer gave them."""
    RECORD_PAYMENT = "record_payment"
    """``paid_amount``, and ``paid_on`` (default today)."""
    RECORD_CLOSING_REASON = "record_closing_reason"
    """``closing_reason`` = the move's reason, when it has one (it is also the timeline's summary)."""
    CLOSE = "close"
    """``closed_at`` = now: no more updates due, deadlines or documents to chase."""


ON_ENTRY: Mapping[ClaimStatus, tuple[OnEntry, ...]] = MappingProxyType(
    {
        S.REPORTED: (),
        S.COLLECTING_DOCUMENTS: (),
        S.SUBMITTED: (OnEntry.HAND_OVER,),
        S.UNDER_REVIEW: (OnEntry.HAND_OVER,),
        S.MORE_INFORMATION_REQUESTED: (OnEntry.ADD_REQUESTED_DOCUMENTS,),
        S.APPROVED: (OnEntry.RECORD_APPROVAL, OnEntry.RECORD_DECISION_DAY),
        S.PAID: (OnEntry.RECORD_PAYMENT, OnEntry.CLOSE),
        S.REJECTED: (OnEntry.RECORD_DECISION_DAY, OnEntry.RECORD_CLOSING_REASON, OnEntry.CLOSE),
        S.WITHDRAWN: (OnEntry.RECORD_CLOSING_REASON, OnEntry.CLOSE),
    }
)
"""Status → what entering it does, in this order, before the status itself changes."""

if {s for s, steps in ON_ENTRY.items() if OnEntry.CLOSE in steps} != CLOSED or ON_ENTRY.keys() != set(S):
    raise ValueError("ON_ENTRY must name every status, and close exactly the final ones")


class DocumentStatus(StrEnum):
    MISSING = "missing"
    RECEIVED = "received"
    SUBMITTED = "submitted"
    REJECTED = "rejected"


D = DocumentStatus

DOCUMENT_TRANSITIONS = transition_table(
    {
        D.MISSING: (D.RECEIVED,),
        D.RECEIVED: (D.SUBMITTED, D.REJECTED, D.MISSING),
        D.SUBMITTED: (D.REJECTED,),
        D.REJECTED: (D.RECEIVED,),
    }
)

OUTSTANDING = frozenset({D.MISSING, D.REJECTED})
"""Items the client still owes (a rejected document must be provided again); entering one of these
starts the item's ``outstanding_since`` today, leaving them clears it."""


class ItemOnEntry(StrEnum):
    """One thing a checklist item's move does besides its status (steps in ``documents.py``)."""

    STAMP_RECEIVED = "stamp_received"
    """``received_at`` = now, ``received_by`` = the caller."""
    CLEAR_RECEIVED = "clear_received"
    """What was received was not the right paper: ``received_at`` and ``received_by`` cleared."""
    STAMP_SUBMITTED = "stamp_submitted"
    """``submitted_at`` = now."""
    CLEAR_REJECTION = "clear_rejection"
    """The client provided it again: the earlier ``rejection_reason`` goes."""


ITEM_ON_ENTRY: Mapping[DocumentStatus, tuple[ItemOnEntry, ...]] = MappingProxyType(
    {
        D.MISSING: (ItemOnEntry.CLEAR_RECEIVED,),
        D.RECEIVED: (ItemOnEntry.STAMP_RECEIVED, ItemOnEntry.CLEAR_REJECTION),
        D.SUBMITTED: (ItemOnEntry.STAMP_SUBMITTED,),
        D.REJECTED: (),
    }
)
"""Item status → what entering it does (``outstanding_since`` follows ``OUTSTANDING`` for every move)."""
