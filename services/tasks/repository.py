"""Queries of the tasks service and its scope predicate."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.scope import owner_scope
from services.tasks.models import AgendaMark, Task
from services.tasks.transitions import TaskStatus


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Agent: own tasks; team lead: the team's; admin: all (crmkit.scope)."""
    return owner_scope(principal, owner=col(Task.owner_agent_id), team=col(Task.team_id))


async def get_visible_task(
    *, session: AsyncSession, principal: Principal, task_id: uuid.UUID, for_update: bool = False
) -> Task | None:
    stmt = select(Task).where(col(Task.id) == task_id, visible_to(principal))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_tasks(
    *,
    session: AsyncSession,
    principal: Principal,
    status: str | None,
    owner_agent_id: uuid.UUID | None,
    due_before: datetime | None,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Task]:
    """By due time then id; the cursor is the last (due_by, id)."""
    stmt = select(Task).where(visible_to(principal))
    if status is not None:
        stmt = stmt.where(col(Task.status) == status)
    if owner_agent_id is not None:
        stmt = stmt.where(col(Task.owner_agent_id) == owner_agent_id)
    if due_before is not None:
        stmt = stmt.where(col(Task.due_by) < due_before)
    if after is not None:
        stmt = stmt.where(tuple_(col(Task.due_by), col(Task.id)) > tuple_(*after))
    stmt = stmt.order_by(col(Task.due_by), col(Task.id)).limit(limit + 1)
    return list((await session.execute(stmt)).scalars())


@functools.lru_cache(maxsize=16)
def _open_tasks_of(rows: int) -> Select[Task]:
    """The agenda's section, built once per page size (issue 22); run with ``owner`` and ``due_before``."""
    return (
        select(Task)
        .where(
            and_(
                col(Task.owner_agent_id) == bindparam("owner"),
                col(Task.status) == TaskStatus.OPEN,
                col(Task.due_by) < bindparam("due_before"),
            )
        )
        .order_by(col(Task.due_by), col(Task.id))
        .limit(rows)
    )


async def open_tasks_of(
    *, session: AsyncSession, owner: uuid.UUID, due_before: datetime, limit: int
) -> list[Task]:
    """The agenda's section: one agent's open tasks due before the end of the day, overdue first."""
    parameters = {"owner": owner, "due_before": due_before}
    return list((await session.execute(_open_tasks_of(limit + 1), parameters)).scalars())


# A user's agenda marks of one day, in the order they were set; run with ``user_id`` and ``day``.
MARKS_OF = (
    select(AgendaMark)
    .where(col(AgendaMark.user_id) == bindparam("user_id"), col(AgendaMark.day) == bindparam("day"))
    .order_by(col(AgendaMark.marked_at))
)


async def marks_of(*, session: AsyncSession, user_id: uuid.UUID, day: Any) -> list[AgendaMark]:
    return list((await session.execute(MARKS_OF, {"user_id": user_id, "day": day})).scalars())


def unreminded_due(moment: datetime) -> ColumnElement[bool]:
    """Open tasks due by ``moment`` whose owner was not reminded yet (one partial index)."""
    return and_(
        col(Task.status) == TaskStatus.OPEN,
        col(Task.reminded_at).is_(None),
        col(Task.due_by) <= moment,
    )


__all__ = [
    "get_visible_task",
    "list_tasks",
    "marks_of",
    "open_tasks_of",
    "or_",
    "unreminded_due",
    "visible_to",
]
