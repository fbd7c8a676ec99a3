"""Who sees which record: the one owner/team predicate every service filters by.

Agent: the records they own; team lead: the team's; admin: all; operations staff and anyone
else: none. A record outside the caller's reach is simply not found (404), so ids cannot be
probed. Each role's predicate leads with one column, so it matches one index per list.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, false, true

from crmkit.auth import Principal, Role


class Reach(enum.Enum):
    """How far a caller sees, without the who: the shape of the scope predicate."""

    ALL = "all"
    TEAM = "team"
    OWN = "own"
    NONE = "none"


def reach(principal: Principal) -> tuple[Reach, uuid.UUID | None]:
    """The caller's reach and the id it is bounded by (the team, the owner; none for ALL/NONE)."""
    if principal.role is Role.ADMIN:
        return Reach.ALL, None
    if principal.role is Role.TEAM_LEAD and principal.team_id is not None:
        return Reach.TEAM, principal.team_id
    if principal.role in (Role.AGENT, Role.TEAM_LEAD):
        return Reach.OWN, principal.user_id
    return Reach.NONE, None


SCOPE_PARAMETER = "scope_id"


def scope_parameter() -> BindParameter[uuid.UUID]:
    """The placeholder a prebuilt statement's scope predicate compares with (``reach()``'s id)."""
    return bindparam(SCOPE_PARAMETER)


def reach_predicate(kind: Reach, *, owner: Any, team: Any, value: Any) -> ColumnElement[bool]:
    """The predicate of one reach, against ``value`` (an id, or ``scope_parameter()`` in a
    statement built once and run with the caller's id)."""
    if kind is Reach.ALL:
        return true()
    if kind is Reach.TEAM:
        return team == value  # type: ignore[no-any-return]
    if kind is Reach.OWN:
        return owner == value  # type: ignore[no-any-return]
    return false()


def owner_scope(principal: Principal, *, owner: Any, team: Any) -> ColumnElement[bool]:
    """The predicate for a table with an owner-agent column and a team column."""
    kind, value = reach(principal)
    return reach_predicate(kind, owner=owner, team=team, value=value)
