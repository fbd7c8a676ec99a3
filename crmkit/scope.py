"""Who sees which record: the one owner/team predicate every service filters by.

Agent: the records they own; team lead: the team's; admin: all; operations staff and anyone
else: none. A record outside the caller's reach is simply not found (404), so ids cannot be
probed. Each role's predicate leads with one column, so it matches one index per list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from crmkit.auth import Principal, Role


def owner_scope(principal: Principal, *, owner: Any, team: Any) -> ColumnElement[bool]:
    """The predicate for a table with an owner-agent column and a team column."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.TEAM_LEAD and principal.team_id is not None:
        return team == principal.team_id  # type: ignore[no-any-return]
    if principal.role in (Role.AGENT, Role.TEAM_LEAD):
        return owner == principal.user_id  # type: ignore[no-any-return]
    return false()
