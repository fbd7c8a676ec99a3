"""The state machines of the service, as data: state → the states it may move to."""

from __future__ import annotations

from collections.abc import Mapping

from services.policies.errors import IllegalTransition

APPLICATION_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "withdrawn"}),
    "submitted": frozenset({"underwriting", "withdrawn"}),
    "underwriting": frozenset({"requirements_pending", "approved", "declined", "postponed", "withdrawn"}),
    "requirements_pending": frozenset({"underwriting", "withdrawn"}),
    "approved": frozenset({"issued", "withdrawn"}),
    "issued": frozenset(),
    "declined": frozenset(),
    "postponed": frozenset(),
    "withdrawn": frozenset(),
}
"""Withdrawal is possible at any time before issue; decisions and issue are final."""

POLICY_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "issued": frozenset({"receipt_signed"}),
    "receipt_signed": frozenset({"return_visit_done", "cancelled", "surrendered"}),
    "return_visit_done": frozenset({"in_force", "cancelled", "surrendered"}),
    "in_force": frozenset({"cancelled", "surrendered"}),
    "cancelled": frozenset(),
    "surrendered": frozenset(),
}
"""Cancellation only inside the cooling-off period, surrender only after it (checked by date)."""

PROPOSAL_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "open": frozenset({"open", "accepted", "declined"}),
    "accepted": frozenset(),
    "declined": frozenset(),
}
"""``open → open`` is a new revision after the client's feedback."""


def ensure_transition(
    table: Mapping[str, frozenset[str]], *, resource: str, current: str, target: str
) -> None:
    """409 listing the allowed next states when the table has no such move."""
    allowed = table.get(current, frozenset())
    if target not in allowed:
        raise IllegalTransition(resource=resource, current=current, target=target, allowed=allowed)
