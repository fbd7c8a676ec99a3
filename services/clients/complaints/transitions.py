"""The complaint's state machine as data: where each status may go next, what it needs, what it stamps.

``received → investigating → resolved → reported``; a resolved complaint may go back to
investigating when the client is not satisfied. A reported complaint is closed.
"""

from __future__ import annotations

from crmkit.workflow import transition_table
from services.clients.complaints.schemas import ComplaintStatus

S = ComplaintStatus

COMPLAINT_TRANSITIONS = transition_table(
    {
        S.RECEIVED: {S.INVESTIGATING},
        S.INVESTIGATING: {S.RESOLVED},
        S.RESOLVED: {S.REPORTED, S.INVESTIGATING},  # reopened when the client is not satisfied
        S.REPORTED: set(),
    }
)
"""Status → the statuses it may move to next."""

REQUIRED_ON_ENTRY: dict[ComplaintStatus, tuple[str, ...]] = {
    S.RECEIVED: (),
    S.INVESTIGATING: (),
    S.RESOLVED: ("facts", "resolution"),
    S.REPORTED: ("report_summary", "lessons_learned"),
}
"""Status → the fields that must be filled before a complaint may be in it."""

STAMPED_ON_ENTRY: dict[ComplaintStatus, str | None] = {
    S.RECEIVED: None,
    S.INVESTIGATING: "investigating_at",
    S.RESOLVED: "resolved_at",
    S.REPORTED: "reported_at",
}
"""Status → the timestamp column set when a complaint moves into it."""
