"""Request dependencies: the caller, the clock, the directory, and the goal or agent a path names
(in scope, or 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from crmkit.auth import Principal, Role, require_scope
from crmkit.clock import BusinessClock
from crmkit.db import SessionDep
from services.performance.config import Settings
from services.performance.errors import AgentNotFound, GoalNotFound
from services.performance.models import Goal
from services.performance.peers import Agent, UserDirectory

__all__ = ["AgentDep", "ClockDep", "DirectoryDep", "ReaderDep", "SessionDep", "ValidGoal", "WriterDep"]

ReaderDep = Annotated[Principal, require_scope("performance:read")]
WriterDep = Annotated[Principal, require_scope("performance:write")]


async def get_clock(request: Request) -> BusinessClock:
    settings: Settings = request.app.state.settings
    return BusinessClock(zone=settings.zone)


ClockDep = Annotated[BusinessClock, Depends(get_clock)]


async def get_directory(request: Request) -> UserDirectory:
    settings: Settings = request.app.state.settings
    return UserDirectory(
        http=request.app.state.peer_http,
        base_url=settings.identity_url,
        authorization=request.headers.get("authorization"),
    )


DirectoryDep = Annotated[UserDirectory, Depends(get_directory)]


def in_scope(principal: Principal, *, agent_id: uuid.UUID, team_id: uuid.UUID | None) -> bool:
    """Agent: their own; team lead: their own and their team's; admin: all."""
    if principal.role is Role.ADMIN:
        return True
    if agent_id == principal.user_id:
        return principal.role in (Role.AGENT, Role.TEAM_LEAD)
    return principal.role is Role.TEAM_LEAD and team_id is not None and team_id == principal.team_id


async def valid_agent(
    agent_id: Annotated[uuid.UUID, Path()], principal: ReaderDep, directory: DirectoryDep
) -> Agent:
    """An agent (or team lead) the caller may see: themselves, their team's, or anyone for an admin."""
    if principal.role is not Role.ADMIN and agent_id == principal.user_id:
        return Agent(id=agent_id, role=principal.role.value, team_id=principal.team_id)
    agent = await directory.find(agent_id) if principal.role in (Role.TEAM_LEAD, Role.ADMIN) else None
    if agent is None or agent.role not in (Role.AGENT, Role.TEAM_LEAD):
        raise AgentNotFound("no such agent in your scope")
    if not in_scope(principal, agent_id=agent.id, team_id=agent.team_id):
        raise AgentNotFound("no such agent in your scope")
    return agent


AgentDep = Annotated[Agent, Depends(valid_agent)]


async def valid_goal(
    goal_id: Annotated[uuid.UUID, Path(description="The goal's id.")],
    principal: ReaderDep,
    session: SessionDep,
) -> Goal:
    goal = await session.get(Goal, goal_id)
    if goal is None or not in_scope(principal, agent_id=goal.agent_id, team_id=goal.team_id):
        raise GoalNotFound("no such goal")
    return goal


ValidGoal = Annotated[Goal, Depends(valid_goal)]
