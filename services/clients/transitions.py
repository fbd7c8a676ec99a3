"""Every state machine of the clients service, by name (each table lives with its subdomain).

Checked by ``crmkit.workflow.ensure_transition``; an illegal move answers the one 409 body
(``current_state``, ``requested_state``, ``allowed_next_states``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmkit.workflow import TransitionTable
from services.clients.complaints.transitions import COMPLAINT_TRANSITIONS

__all__ = ["COMPLAINT_TRANSITIONS", "TABLES"]

TABLES: Mapping[str, TransitionTable[Any]] = {"complaint": COMPLAINT_TRANSITIONS}
"""Resource name → its transition table."""
