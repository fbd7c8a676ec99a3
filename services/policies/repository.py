"""Scoped lookups, keyset pages and the cover a client already holds; never commits."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import read_cursor, trim
from crmkit.scope import owner_scope
from services.policies.models import Application, Policy, PremiumDue, Proposal, UnderwritingRequirement

STATUS_NAME = re.compile(r"[a-z_]+")
"""What ``status_is`` writes into SQL: a status of the code, never an input."""
COVERING_STATUSES = ("issued", "receipt_signed", "return_visit_done", "in_force")
"""A policy in these states covers its insured (the in-force rule adds the dates)."""

Scoped = TypeVar("Scoped", Proposal, Application, Policy, UnderwritingRequirement, PremiumDue)
Listed = TypeVar("Listed", Proposal, Application, Policy)


def status_is(column: Any, *values: str) -> ColumnElement[bool]:
    """Status values inlined as constants, so the planner can prove a partial index's predicate
    (a bound parameter in a generic plan would hide it). Written into the SQL when the statement is
    compiled (and cached with it), not rendered again at every execution as ``literal_execute``
    does (7 % of the policies service's busy samples under the agenda, issue 22); the values are the
    code's own."""
    inlined = [literal_column(f"'{_status_name(v)}'", String()) for v in values]
    return column == inlined[0] if len(inlined) == 1 else column.in_(inlined)  # type: ignore[no-any-return]


def _status_name(value: str) -> str:
    if not STATUS_NAME.fullmatch(value):
        raise ValueError(f"not a status name: {value!r}")
    return value


def visible_to(model: type[Scoped], principal: Principal) -> ColumnElement[bool]:
    """Agent: records of their clients; team lead: the team's; admin: all; ops: none (crmkit.scope)."""
    table = model.__table__  # type: ignore[attr-defined]
    return owner_scope(principal, owner=table.c.owner_agent_id, team=table.c.team_id)


async def get_visible(
    *,
    session: AsyncSession,
    model: type[Scoped],
    principal: Principal,
    record_id: uuid.UUID,
    for_update: bool = False,
) -> Scoped | None:
    """One indexed lookup; ``for_update`` locks the row so If-Match and transitions cannot race."""
    table = model.__table__  # type: ignore[attr-defined]
    stmt = select(model).where(table.c.id == record_id, visible_to(model, principal))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def recent_page(
    *,
    session: AsyncSession,
    model: type[Listed],
    principal: Principal,
    conditions: list[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
) -> tuple[list[Listed], str | None]:
    """Newest first, keyset on ``(created_at, id)``; LIMIT n+1 tells whether a next page exists."""
    table = model.__table__  # type: ignore[attr-defined]
    where = [visible_to(model, principal), *conditions]
    after = read_cursor(cursor, datetime, uuid.UUID)
    if after is not None:
        where.append(tuple_(table.c.created_at, table.c.id) < tuple_(*after))
    stmt = select(model).where(*where).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = trim(rows, limit, key=lambda row: (row.created_at, row.id))
    return list(kept), next_cursor


async def existing_cover(
    *, session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> dict[uuid.UUID | None, set[str]]:
    """Walls already covered per insured by the policies of this client (the caller can see)."""
    stmt = select(col(Policy.insured_member_id), col(Policy.walls)).where(
        col(Policy.client_id) == client_id,
        col(Policy.status).in_(COVERING_STATUSES),
        visible_to(Policy, principal),
    )
    cover: dict[uuid.UUID | None, set[str]] = {}
    for member_id, walls in (await session.execute(stmt)).all():
        cover.setdefault(member_id, set()).update(walls)
    return cover
