"""Request dependencies: the caller, the business clock, the peers on the caller's token, and the
task a path names (in scope, or 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from crmkit.auth import Principal, Role, require_roles, require_scope
from crmkit.clock import BusinessClock
from crmkit.db import SessionDep
from services.tasks import repository
from services.tasks.config import Settings
from services.tasks.errors import TaskNotFound
from services.tasks.models import Task
from services.tasks.peers import Peers

__all__ = [
    "AdminDep",
    "ChangedTask",
    "ClockDep",
    "PeersDep",
    "ReaderDep",
    "SessionDep",
    "ValidTask",
    "WriterDep",
]

WORKERS = require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)
"""Tasks, plans and client messages are the agents' work (and their leads' and admins')."""
ReaderDep = Annotated[Principal, require_scope("tasks:read")]
WriterDep = Annotated[Principal, require_scope("tasks:write")]
AdminDep = Annotated[Principal, require_roles(Role.ADMIN)]

TaskId = Annotated[uuid.UUID, Path(description="The task's id.")]


async def get_clock(request: Request) -> BusinessClock:
    settings: Settings = request.app.state.settings
    return BusinessClock(zone=settings.zone)


ClockDep = Annotated[BusinessClock, Depends(get_clock)]


async def get_peers(request: Request) -> Peers:
    """The other apps, asked with the caller's own token."""
    return Peers(
        http=request.app.state.peer_http,
        settings=request.app.state.settings,
        authorization=request.headers.get("authorization"),
    )


PeersDep = Annotated[Peers, Depends(get_peers)]


async def valid_task(task_id: TaskId, principal: ReaderDep, session: SessionDep) -> Task:
    task = await repository.get_visible_task(session=session, principal=principal, task_id=task_id)
    if task is None:
        raise TaskNotFound()
    return task


async def task_to_change(task_id: TaskId, principal: WriterDep, session: SessionDep) -> Task:
    task = await repository.get_visible_task(
        session=session, principal=principal, task_id=task_id, for_update=True
    )
    if task is None:
        raise TaskNotFound()
    return task


ValidTask = Annotated[Task, Depends(valid_task)]
ChangedTask = Annotated[Task, Depends(task_to_change)]
