"""Queries on claims, their checklists and timelines; never commits (the request's session does)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, bindparam, select, text, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.scope import SCOPE_PARAMETER, Reach, owner_scope, reach, reach_predicate, scope_parameter
from services.claims.models import (
    AWAITING_DECISION,
    DOCUMENTS_OUTSTANDING,
    OPEN,
    Claim,
    ClaimDocument,
    ClaimEvent,
)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Object-level scope: a claim follows its policy's owner agent and team."""
    return owner_scope(principal, owner=col(Claim.owner_agent_id), team=col(Claim.team_id))


async def get_visible(
    *, session: AsyncSession, principal: Principal, claim_id: uuid.UUID, for_update: bool = False
) -> Claim | None:
    """One indexed lookup; ``for_update`` locks the row so If-Match cannot race another writer."""
    stmt = select(Claim).where(col(Claim.id) == claim_id, visible_to(principal))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def documents_of(*, session: AsyncSession, claim_id: uuid.UUID) -> list[ClaimDocument]:
    stmt = (
        select(ClaimDocument)
        .where(col(ClaimDocument.claim_id) == claim_id)
        .order_by(col(ClaimDocument.position), col(ClaimDocument.id))
    )
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True, slots=True)
class ClaimFilters:
    status: str | None = None
    claim_type: str | None = None
    policy_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None


async def newest_first(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: ClaimFilters,
    after: tuple[datetime, uuid.UUID] | None,
    rows: int,
) -> list[Claim]:
    """Up to ``rows`` claims in the caller's scope, newest first, after the key ``after``."""
    conditions: list[ColumnElement[bool]] = [visible_to(principal)]
    if filters.status is not None:
        conditions.append(col(Claim.status) == filters.status)
    if filters.claim_type is not None:
        conditions.append(col(Claim.claim_type) == filters.claim_type)
    if filters.policy_id is not None:
        conditions.append(col(Claim.policy_id) == filters.policy_id)
    if filters.client_id is not None:
        conditions.append(col(Claim.client_id) == filters.client_id)
    if after is not None:
        conditions.append(tuple_(col(Claim.created_at), col(Claim.id)) < tuple_(*after))
    stmt = select(Claim).where(*conditions).order_by(col(Claim.created_at).desc(), col(Claim.id).desc())
    return list((await session.execute(stmt.limit(rows))).scalars())


async def list_visible(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: ClaimFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Claim]:
    """Newest first; fetches one row more than the page to know whether another page follows."""
    return await newest_first(
        session=session, principal=principal, filters=filters, after=after, rows=limit + 1
    )


# Each work list: the partial index's predicate (verbatim, so the planner matches the index) and
# the key column it is walked by (with ``id``), oldest or most overdue first.
WORK_LISTS = {
    "updates_due": (OPEN, "last_client_update_at"),
    "decisions_overdue": (AWAITING_DECISION, "decision_due_on"),
    "documents_missing": (DOCUMENTS_OUTSTANDING, "documents_missing_since"),
}


@functools.lru_cache(maxsize=64)
def _work_list(name: str, kind: Reach, paged: bool, rows: int) -> Select[Any]:
    """One work list's page for one reach, built once (building it per request, and loading ORM
    instances where a read only shows the row, was half the agenda's CPU in this service, issue 22).
    Run with ``scope_id``, ``before`` and, when ``paged``, ``after_key``/``after_id``."""
    predicate, key_name = WORK_LISTS[name]
    c = Claim.__table__.c  # type: ignore[attr-defined]
    key = c[key_name]
    conditions: list[Any] = [
        text(predicate),
        reach_predicate(kind, owner=c.owner_agent_id, team=c.team_id, value=scope_parameter()),
        key < bindparam("before", type_=key.type),
    ]
    if paged:
        after = (bindparam("after_key", type_=key.type), bindparam("after_id", type_=Uuid()))
        conditions.append(tuple_(key, c.id) > tuple_(*after))
    return select(Claim.__table__).where(*conditions).order_by(key, c.id).limit(rows)  # type: ignore[attr-defined]


async def work_list(
    *,
    session: AsyncSession,
    principal: Principal,
    name: str,
    before: date | datetime,
    after: tuple[date | datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """The claims of the work list ``name`` (``WORK_LISTS``) in the caller's scope whose key is before
    ``before``, in key order after ``after``, as plain rows (``views.to_read`` takes them); one row
    more than the page, to know whether another page follows."""
    kind, scope_id = reach(principal)
    parameters: dict[str, Any] = {SCOPE_PARAMETER: scope_id, "before": before}
    if after is not None:
        parameters["after_key"], parameters["after_id"] = after
    stmt = _work_list(name, kind, after is not None, limit + 1)
    return list((await session.execute(stmt, parameters)).all())


async def timeline(
    *, session: AsyncSession, claim_id: uuid.UUID, after: tuple[datetime, int] | None, limit: int
) -> list[ClaimEvent]:
    conditions: list[ColumnElement[bool]] = [col(ClaimEvent.claim_id) == claim_id]
    if after is not None:
        conditions.append(tuple_(col(ClaimEvent.occurred_at), col(ClaimEvent.id)) > tuple_(*after))
    stmt = (
        select(ClaimEvent)
        .where(*conditions)
        .order_by(col(ClaimEvent.occurred_at), col(ClaimEvent.id))
        .limit(limit + 1)
    )
    return list((await session.execute(stmt)).scalars())
