"""Queries on claims, their checklists and timelines; never commits (the request's session does)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, TextClause, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.scope import owner_scope
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


async def _page(session: AsyncSession, stmt: Select[Any], limit: int) -> list[Claim]:
    return list((await session.execute(stmt.limit(limit + 1))).scalars())


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


async def updates_due(
    *,
    session: AsyncSession,
    principal: Principal,
    updated_before: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Claim]:
    """Open claims whose last client update is older than ``updated_before``, oldest first."""
    key = tuple_(col(Claim.last_client_update_at), col(Claim.id))
    conditions: list[ColumnElement[bool] | TextClause] = [
        text(OPEN),
        visible_to(principal),
        col(Claim.last_client_update_at) < updated_before,
    ]
    if after is not None:
        conditions.append(key > tuple_(*after))
    stmt = select(Claim).where(*conditions).order_by(col(Claim.last_client_update_at), col(Claim.id))
    return await _page(session, stmt, limit)


async def decisions_overdue(
    *,
    session: AsyncSession,
    principal: Principal,
    today: date,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Claim]:
    """Claims the insurer holds past their decision deadline, most overdue first."""
    key = tuple_(col(Claim.decision_due_on), col(Claim.id))
    conditions: list[ColumnElement[bool] | TextClause] = [
        text(AWAITING_DECISION),
        visible_to(principal),
        col(Claim.decision_due_on) < today,
    ]
    if after is not None:
        conditions.append(key > tuple_(*after))
    stmt = select(Claim).where(*conditions).order_by(col(Claim.decision_due_on), col(Claim.id))
    return await _page(session, stmt, limit)


async def documents_missing(
    *,
    session: AsyncSession,
    principal: Principal,
    missing_before: date,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Claim]:
    """Open claims with a required document outstanding since before ``missing_before``, oldest first."""
    key = tuple_(col(Claim.documents_missing_since), col(Claim.id))
    conditions: list[ColumnElement[bool] | TextClause] = [
        text(DOCUMENTS_OUTSTANDING),
        visible_to(principal),
        col(Claim.documents_missing_since) < missing_before,
    ]
    if after is not None:
        conditions.append(key > tuple_(*after))
    stmt = select(Claim).where(*conditions).order_by(col(Claim.documents_missing_since), col(Claim.id))
    return await _page(session, stmt, limit)


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
