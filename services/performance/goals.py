"""Stepped goals (manual 七.3: break the yearly target down into 3 effective clients and 2 closed
deals a month): set by the agent, approved or adjusted by the team lead, broken down by month."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit import audit
from crmkit.auth import Principal, Role
from crmkit.clock import utc_now
from crmkit.problems import FieldError
from services.performance.errors import BreakdownMismatch, GoalExists, OwnGoalApproval
from services.performance.models import TARGETS, YEAR, Goal, infra_tables
from services.performance.peers import Agent
from services.performance.repository import goals_visible_to
from services.performance.schemas import (
    Breakdown,
    GoalApproval,
    GoalCreate,
    GoalRead,
    GoalStatus,
    GoalUpdate,
    MonthTargets,
)

RESOURCE = "goal"


def to_read(goal: Goal) -> GoalRead:
    read = GoalRead.model_validate(goal, from_attributes=True)
    return read.model_copy(update={"month": goal.month or None})


def _view(goal: Goal) -> dict[str, Any]:
    return to_read(goal).model_dump(mode="json")


async def _record(
    session: AsyncSession, principal: Principal, action: str, goal: Goal, before: dict[str, Any] | None
) -> None:
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action=action,
        resource_type=RESOURCE,
        resource_id=goal.id,
        before=before,
        after=_view(goal),
    )


async def _insert(session: AsyncSession, goal: Goal) -> None:
    try:
        async with session.begin_nested():
            session.add(goal)
            await session.flush()
    except IntegrityError as exc:
        period = f"{goal.year}" if goal.month == YEAR else f"{goal.year}-{goal.month:02d}"
        raise GoalExists(f"this agent already has a goal for {period}; change that one instead") from exc


async def create(*, session: AsyncSession, principal: Principal, agent: Agent, data: GoalCreate) -> Goal:
    """A new goal, proposed; a team lead's or an admin's goal for an agent is approved as set."""
    now = utc_now()
    by_manager = agent.id != principal.user_id
    goal = Goal(
        agent_id=agent.id,
        team_id=agent.team_id,
        year=data.year,
        month=data.month or YEAR,
        **{name: getattr(data, name) for name in TARGETS},
        status=GoalStatus.APPROVED if by_manager else GoalStatus.PROPOSED,
        set_by=principal.user_id,
        approved_by=principal.user_id if by_manager else None,
        approved_at=now if by_manager else None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    await _insert(session, goal)
    await _record(session, principal, "goal.set", goal, None)
    return goal


def _manages(principal: Principal, goal: Goal) -> bool:
    if goal.agent_id == principal.user_id:
        return False
    return principal.role is Role.ADMIN or (
        principal.role is Role.TEAM_LEAD and goal.team_id == principal.team_id
    )


async def update(*, session: AsyncSession, principal: Principal, goal: Goal, data: GoalUpdate) -> Goal:
    """The agent revises a proposed goal (back to proposed); the team lead adjusts any goal."""
    manager = _manages(principal, goal)
    if not manager and goal.status != GoalStatus.PROPOSED:
        raise OwnGoalApproval("an approved goal is changed by your team lead, not by you")
    before = _view(goal)
    changed = _apply(goal, data)
    if not changed:
        return goal
    goal.status = GoalStatus.ADJUSTED if manager else GoalStatus.PROPOSED
    if manager:
        goal.approved_by, goal.approved_at = principal.user_id, utc_now()
    goal.version += 1
    goal.updated_at = utc_now()
    await session.flush()
    await _record(session, principal, "goal.adjusted" if manager else "goal.revised", goal, before)
    return goal


async def approve(*, session: AsyncSession, principal: Principal, goal: Goal, data: GoalApproval) -> Goal:
    """The team lead (or an admin) approves, adjusting targets on the way if given."""
    if not _manages(principal, goal):
        raise OwnGoalApproval("your own goal is approved by your team lead, not by you")
    before = _view(goal)
    adjusted = _apply(goal, data)
    goal.status = GoalStatus.ADJUSTED if adjusted else GoalStatus.APPROVED
    goal.approved_by, goal.approved_at = principal.user_id, utc_now()
    goal.version += 1
    goal.updated_at = utc_now()
    await session.flush()
    await _record(session, principal, f"goal.{goal.status}", goal, before)
    return goal


def _apply(goal: Goal, data: GoalUpdate) -> bool:
    changed = False
    for name in TARGETS:
        value = getattr(data, name)
        if value is not None and value != getattr(goal, name):
            setattr(goal, name, value)
            changed = True
    return changed


def even_split(goal: Goal) -> list[MonthTargets]:
    """Each figure divided by 12, the remainder given to the first months (whole counts; premium
    to the fen, the last fen to the first months)."""
    months: list[dict[str, Any]] = [{"month": m} for m in range(1, 13)]
    for name in TARGETS:
        total = getattr(goal, name)
        if isinstance(total, Decimal):
            fen = int(total * 100)
            parts = [Decimal(fen // 12 + (1 if i < fen % 12 else 0)) / 100 for i in range(12)]
        else:
            parts = [total // 12 + (1 if i < total % 12 else 0) for i in range(12)]
        for month, part in zip(months, parts, strict=True):
            month[name] = part
    return [MonthTargets.model_validate(m) for m in months]


def _mismatches(goal: Goal, months: list[MonthTargets]) -> list[FieldError]:
    errors = []
    for name in TARGETS:
        total = sum(
            (getattr(m, name) for m in months), start=Decimal(0) if name == "first_year_premium" else 0
        )
        expected = getattr(goal, name)
        if total != expected:
            difference = total - expected
            word = "over" if difference > 0 else "short"
            errors.append(
                FieldError(
                    field=f"months.{name}",
                    message=(
                        f"the months add up to {total}, the yearly goal is {expected}:"
                        f" {abs(difference)} {word}"
                    ),
                )
            )
    return errors


async def break_down(
    *, session: AsyncSession, principal: Principal, goal: Goal, data: Breakdown
) -> list[Goal]:
    """The yearly goal's twelve monthly goals, in one call; they take the yearly goal's status."""
    if goal.month != YEAR:
        raise BreakdownMismatch(
            "only a yearly goal is broken down into months",
            errors=[FieldError(field="goal_id", message="a monthly goal")],
        )
    months = data.months if data.months is not None else even_split(goal)
    errors = _mismatches(goal, months)
    if errors:
        raise BreakdownMismatch(
            "the monthly breakdown does not add up to the yearly goal: "
            + "; ".join(e.message for e in errors),
            errors=errors,
        )
    existing = await session.scalar(
        select(col(Goal.id))
        .where(col(Goal.agent_id) == goal.agent_id, col(Goal.year) == goal.year, col(Goal.month) != YEAR)
        .limit(1)
    )
    if existing is not None:
        raise GoalExists(f"this agent already has monthly goals in {goal.year}; change those instead")
    now = utc_now()
    made = []
    for month in sorted(months, key=lambda m: m.month):
        row = Goal(
            agent_id=goal.agent_id,
            team_id=goal.team_id,
            year=goal.year,
            month=month.month,
            **{name: getattr(month, name) for name in TARGETS},
            status=goal.status,
            set_by=principal.user_id,
            approved_by=goal.approved_by,
            approved_at=goal.approved_at,
            version=1,
            created_at=now,
            updated_at=now,
        )
        await _insert(session, row)
        await _record(session, principal, "goal.set", row, None)
        made.append(row)
    return made


async def list_goals(
    *, session: AsyncSession, principal: Principal, agent_id: uuid.UUID | None, year: int | None
) -> list[Goal]:
    stmt = select(Goal).where(goals_visible_to(principal))
    if agent_id is not None:
        stmt = stmt.where(col(Goal.agent_id) == agent_id)
    if year is not None:
        stmt = stmt.where(col(Goal.year) == year)
    stmt = stmt.order_by(col(Goal.agent_id), col(Goal.year), col(Goal.month)).limit(1000)
    return list((await session.execute(stmt)).scalars())
