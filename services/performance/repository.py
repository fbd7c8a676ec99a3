"""Queries of the performance service; the scope predicates (``crmkit.scope.owner_scope``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.scope import owner_scope
from services.performance.models import COUNTERS, TARGETS, AgentMonth, Goal, ProgressNote


def goals_visible_to(principal: Principal) -> ColumnElement[bool]:
    return owner_scope(principal, owner=col(Goal.agent_id), team=col(Goal.team_id))


def notes_visible_to(principal: Principal) -> ColumnElement[bool]:
    return owner_scope(principal, owner=col(ProgressNote.agent_id), team=col(ProgressNote.team_id))


def months_visible_to(principal: Principal) -> ColumnElement[bool]:
    return owner_scope(principal, owner=col(AgentMonth.agent_id), team=col(AgentMonth.team_id))


COUNTER_COLUMNS = [
    col(AgentMonth.agent_id),
    col(AgentMonth.month),
    *(col(getattr(AgentMonth, c)) for c in COUNTERS),
]
"""A counter row as ``scorecard.Book`` reads it: plain tuples, no ORM objects (600 of them per team-year)."""
GOAL_COLUMNS = [
    col(Goal.agent_id),
    col(Goal.year),
    col(Goal.month),
    col(Goal.status),
    *(col(getattr(Goal, t)) for t in TARGETS),
]


async def agent_months(
    session: AsyncSession,
    *,
    agent_ids: list[uuid.UUID] | None,
    team_id: uuid.UUID | None,
    first: date,
    last: date,
) -> list[Row[Any]]:
    """Counter rows from ``first`` to ``last`` (first days of months), for agents or a team."""
    stmt = select(*COUNTER_COLUMNS).where(col(AgentMonth.month) >= first, col(AgentMonth.month) <= last)
    if agent_ids is not None:
        stmt = stmt.where(col(AgentMonth.agent_id).in_(agent_ids))
    if team_id is not None:
        stmt = stmt.where(col(AgentMonth.team_id) == team_id)
    return list((await session.execute(stmt)).all())


async def goals_for(
    session: AsyncSession,
    *,
    agent_ids: list[uuid.UUID] | None,
    team_id: uuid.UUID | None,
    first: date,
    last: date,
) -> list[Row[Any]]:
    """Monthly goals in the months from ``first`` to ``last``."""
    key = tuple_(col(Goal.year), col(Goal.month))
    stmt = select(*GOAL_COLUMNS).where(
        col(Goal.month) > 0, key >= (first.year, first.month), key <= (last.year, last.month)
    )
    if agent_ids is not None:
        stmt = stmt.where(col(Goal.agent_id).in_(agent_ids))
    if team_id is not None:
        stmt = stmt.where(col(Goal.team_id) == team_id)
    return list((await session.execute(stmt)).all())


async def scoped_months(
    session: AsyncSession, *, principal: Principal, first: date, last: date
) -> list[Row[Any]]:
    stmt = select(*COUNTER_COLUMNS).where(
        months_visible_to(principal),
        col(AgentMonth.month) >= first,
        col(AgentMonth.month) <= last,
    )
    return list((await session.execute(stmt)).all())


async def scoped_goals(
    session: AsyncSession, *, principal: Principal, first: date, last: date
) -> list[Row[Any]]:
    key = tuple_(col(Goal.year), col(Goal.month))
    stmt = select(*GOAL_COLUMNS).where(
        goals_visible_to(principal),
        col(Goal.month) > 0,
        key >= (first.year, first.month),
        key <= (last.year, last.month),
    )
    return list((await session.execute(stmt)).all())


async def scoped_notes(
    session: AsyncSession, *, principal: Principal, first: date, last: date
) -> list[ProgressNote]:
    stmt = select(ProgressNote).where(
        notes_visible_to(principal),
        col(ProgressNote.from_date) == first,
        col(ProgressNote.to_date) == last,
    )
    return list((await session.execute(stmt)).scalars())
