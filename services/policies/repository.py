"""Scoped lookups and keyset pages shared by the subdomains; never commits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal, Role
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import FieldError, Unprocessable
from services.policies.models import Application, Policy, PremiumDue, Proposal, UnderwritingRequirement

Scoped = TypeVar("Scoped", Proposal, Application, Policy, UnderwritingRequirement, PremiumDue)


def visible_to(model: type[Scoped], principal: Principal) -> ColumnElement[bool]:
    """Agent: records of their clients; team lead: the team's; admin: all; ops: none.

    Written so each role's predicate leads one index (owner, team, or none)."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.TEAM_LEAD and principal.team_id is not None:
        return model.__table__.c.team_id == principal.team_id  # type: ignore[attr-defined,no-any-return]
    if principal.role in (Role.AGENT, Role.TEAM_LEAD):
        return model.__table__.c.owner_agent_id == principal.user_id  # type: ignore[attr-defined,no-any-return]
    return false()


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


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
    )


def read_recent_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """``(created_at, id)`` of the last row of the previous page (newest-first lists)."""
    values = decode_cursor(cursor, arity=2)
    if values is None:
        return None
    try:
        created_at = datetime.fromisoformat(str(values[0]))
        record_id = uuid.UUID(str(values[1]))
    except ValueError:
        raise _bad_cursor() from None
    if created_at.tzinfo is None:
        raise _bad_cursor()
    return created_at, record_id


def read_dated_cursor(cursor: str | None) -> tuple[date, uuid.UUID] | None:
    """``(date, id)`` of the last row of the previous page (soonest-first work lists)."""
    values = decode_cursor(cursor, arity=2)
    if values is None:
        return None
    try:
        return date.fromisoformat(str(values[0])), uuid.UUID(str(values[1]))
    except ValueError:
        raise _bad_cursor() from None


async def recent_page(
    *,
    session: AsyncSession,
    model: type[Scoped],
    principal: Principal,
    conditions: list[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
) -> tuple[list[Scoped], str | None]:
    """Newest first, keyset on ``(created_at, id)``; LIMIT n+1 tells whether a next page exists."""
    table = model.__table__  # type: ignore[attr-defined]
    where = [visible_to(model, principal), *conditions]
    after = read_recent_cursor(cursor)
    if after is not None:
        where.append(tuple_(table.c.created_at, table.c.id) < tuple_(*after))
    stmt = select(model).where(*where).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last: Any = rows[-1]
    return rows, encode_cursor([last.created_at.isoformat(), str(last.id)])
