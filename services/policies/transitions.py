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
        "issued": {"receipt_signed", "lapsed", "expired"},
        "receipt_signed": {"return_visit_done", "cancelled", "surrendered", "lapsed", "expired"},
        "return_visit_done": {"in_force", "cancelled", "surrendered", "lapsed", "expired"},
        "in_force": {"cancelled", "surrendered", "lapsed", "expired"},
        "lapsed": {"in_force", "terminated", "expired", "surrendered"},
        "cancelled": set(),
        "surrendered": set(),
        "expired": set(),
        "terminated": set(),
    }
)
"""Cancellation only inside the cooling-off period, surrender only after it (checked by date).

Time moves the rest, through the scheduled sweep (``services/policies/sweep.py``): a premium
unpaid past the grace period lapses the policy (中止, 保险法 §36); a lapsed policy is reinstated
(复效, §37: ``lapsed → in_force``) within 2 years, or terminated after them; a term policy expires
on its end date (a renewal is a new policy linked to the expired term)."""

POLICY_SWEPT_STATES = ("issued", "receipt_signed", "return_visit_done", "in_force", "lapsed")
"""States a policy can still leave by the calendar alone."""

LAPSABLE_STATES = ("issued", "receipt_signed", "return_visit_done", "in_force")
"""States in which an unpaid instalment can still lapse the policy: the collection list's policies.
Their instalments are ``premium_dues.collectable`` (kept by ``services/policies/collectable.py``)."""

PROPOSAL_TRANSITIONS = transition_table(
    {
        "open": {"open", "accepted", "declined"},
        "accepted": set(),
        "declined": set(),
    }
)
"""``open → open`` is a new revision after the client's feedback."""
