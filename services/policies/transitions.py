"""The state machines of the service, as data: state → the states it may move to next.

Every check goes through ``crmkit.workflow.ensure_transition`` with one of these tables, so an
illegal move answers the one 409 body (``current_state``, ``requested_state``,
``allowed_next_states``) of every service.
"""

from __future__ import annotations

from collections.abc import Mapping

from crmkit.workflow import final_states, transition_table

APPLICATION = "application"
POLICY = "policy"
PROPOSAL = "proposal"

APPLICATION_TRANSITIONS = transition_table(
    {
        "draft": {"submitted", "withdrawn"},
        "submitted": {"underwriting", "withdrawn"},
        "underwriting": {"requirements_pending", "approved", "declined", "postponed", "withdrawn"},
        "requirements_pending": {"underwriting", "withdrawn"},
        "approved": {"issued", "withdrawn"},
        "issued": set(),
        "declined": set(),
        "postponed": set(),
        "withdrawn": set(),
    }
)
"""Withdrawal is possible at any time before issue; decisions and issue are final."""

APPLICATION_FINAL = final_states(APPLICATION_TRANSITIONS)
"""Entering one of these closes the requirements still pending (nobody will send them now)."""

APPLICATION_DATED_ON_ENTRY: Mapping[str, str] = {
    "submitted": "submitted_on",
    "approved": "decided_on",
    "declined": "decided_on",
    "postponed": "decided_on",
}
"""State → the application's date field set to today when the application enters it."""

POLICY_TRANSITIONS = transition_table(
    {
        "issued": {"receipt_signed"},
        "receipt_signed": {"return_visit_done", "cancelled", "surrendered"},
        "return_visit_done": {"in_force", "cancelled", "surrendered"},
        "in_force": {"cancelled", "surrendered"},
        "cancelled": set(),
        "surrendered": set(),
    }
)
"""Cancellation only inside the cooling-off period, surrender only after it (checked by date)."""

PROPOSAL_TRANSITIONS = transition_table(
    {
        "open": {"open", "accepted", "declined"},
        "accepted": set(),
        "declined": set(),
    }
)
"""``open → open`` is a new revision after the client's feedback."""
