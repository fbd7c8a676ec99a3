"""Business rules of tasks: who may assign to whom, when a task may be due, what it may link to,
and how it is worked (``transitions.TASK_TRANSITIONS``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal, Role
from crmkit.clock import BusinessClock
from crmkit.workflow import ensure_transition
from services.tasks.errors import AssignmentRefused, InvalidField, LinkedRecordNotFound
from services.tasks.models import ActionPlan, Task, infra_tables
from services.tasks.peers import Peers
from services.tasks.schemas import Link, TaskCreate, TaskRead
from services.tasks.transitions import TASK_TRANSITIONS, PlanStatus, TaskStatus

RESOURCE = "task"
DAY_TASK_HOUR = time(9, 0)
"""A task due on a day (no time) counts as due at 09:00 business time: reminders go out that morning."""


def due_by(*, clock: BusinessClock, due_on: date | None, due_at: datetime | None) -> datetime:
    if due_at is not None:
        return due_at
    assert due_on is not None
    return datetime.combine(due_on, DAY_TASK_HOUR, tzinfo=clock.zone)


def to_read(task: Task) -> TaskRead:
    link = Link(type=task.link_type, id=task.link_id) if task.link_type and task.link_id else None
    return TaskRead(
        id=task.id,
        title=task.title,
        notes=task.notes,
        owner_agent_id=task.owner_agent_id,
        team_id=task.team_id,
        created_by=task.created_by,
        due_on=task.due_on,
        due_at=task.due_at,
        priority=task.priority,
        status=task.status,
        link=link,
        plan_id=task.plan_id,
        closed_at=task.closed_at,
        version=task.version,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def _view(task: Task) -> dict[str, Any]:
    return to_read(task).model_dump(mode="json")


async def owner_and_team(
    *, principal: Principal, peers: Peers, owner: uuid.UUID | None
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Whose task it is: yourself; a team lead may assign within the team, an admin to anyone."""
    if owner is None or owner == principal.user_id:
        return principal.user_id, principal.team_id
    if principal.role is Role.AGENT:
        raise AssignmentRefused("an agent assigns tasks only to themselves")
    user = await peers.user(owner)
    if user is None or (principal.role is Role.TEAM_LEAD and user.get("team_id") != str(principal.team_id)):
        raise AssignmentRefused("a team lead assigns tasks only within their team")
    if not user.get("is_active") or user.get("role") not in (Role.AGENT.value, Role.TEAM_LEAD.value):
        raise AssignmentRefused("tasks go to active agents and team leads only")
    team = user.get("team_id")
    return owner, uuid.UUID(team) if team else None


async def create_task(
    *, session: AsyncSession, principal: Principal, peers: Peers, clock: BusinessClock, data: TaskCreate
) -> Task:
    now = clock.now()
    due_at = data.due_at
    if due_at is not None:
        if due_at.tzinfo is None:
            due_at = due_at.replace(tzinfo=clock.zone)
        if due_at <= now:
            raise InvalidField("due_at", "is in the past")
    if data.due_on is not None and data.due_on < clock.today():
        raise InvalidField("due_on", "is in the past")
    owner, team = await owner_and_team(principal=principal, peers=peers, owner=data.owner_agent_id)
    if data.link is not None and await peers.record(data.link.type.value, data.link.id) is None:
        raise LinkedRecordNotFound(data.link.type.value)
    task = Task(
        title=data.title,
        notes=data.notes,
        owner_agent_id=owner,
        team_id=team,
        created_by=principal.user_id,
        due_on=data.due_on,
        due_at=due_at,
        due_by=due_by(clock=clock, due_on=data.due_on, due_at=due_at),
        priority=data.priority.value,
        status=TaskStatus.OPEN.value,
        link_type=data.link.type.value if data.link else None,
        link_id=data.link.id if data.link else None,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="task.created",
        resource_type=RESOURCE,
        resource_id=task.id,
        after=_view(task),
    )
    return task


async def close_task(
    *, session: AsyncSession, principal: Principal, clock: BusinessClock, task: Task, status: TaskStatus
) -> Task:
    """Done or cancelled; a repeating plan step that is done comes back ``repeat_every_days`` later
    while its plan is in progress (the weekly claim update)."""
    ensure_transition(TASK_TRANSITIONS, resource=RESOURCE, current=task.status, requested=status)
    before = _view(task)
    now = clock.now()
    task.status = status.value
    task.closed_at = now
    task.updated_at = now
    task.version += 1
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action=f"task.{status.value}",
        resource_type=RESOURCE,
        resource_id=task.id,
        before=before,
        after=_view(task),
    )
    if status is TaskStatus.DONE and task.repeat_every_days and task.plan_id:
        plan = await session.get(ActionPlan, task.plan_id)
        if plan is not None and plan.status == PlanStatus.IN_PROGRESS:
            await repeat(session=session, principal=principal, clock=clock, task=task)
    return task


async def repeat(*, session: AsyncSession, principal: Principal, clock: BusinessClock, task: Task) -> Task:
    assert task.repeat_every_days
    due_on = clock.today() + timedelta(days=task.repeat_every_days)
    now = clock.now()
    nxt = Task(
        title=task.title,
        notes=task.notes,
        owner_agent_id=task.owner_agent_id,
        team_id=task.team_id,
        created_by=task.created_by,
        due_on=due_on,
        due_by=due_by(clock=clock, due_on=due_on, due_at=None),
        priority=task.priority,
        status=TaskStatus.OPEN.value,
        link_type=task.link_type,
        link_id=task.link_id,
        plan_id=task.plan_id,
        plan_step=task.plan_step,
        repeat_every_days=task.repeat_every_days,
        created_at=now,
        updated_at=now,
    )
    session.add(nxt)
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="task.created",
        resource_type=RESOURCE,
        resource_id=nxt.id,
        after=_view(nxt),
    )
    return nxt
