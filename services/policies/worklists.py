"""Work lists for the agent's agenda, each in the caller's scope, soonest first.

Each query reads one partial index (pending requirements, live policies, receipt signed, due
premiums) led by the scope column, keyset on ``(date, id)``.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal, Role, require_roles
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page, encode_cursor
from crmkit.problems import PROBLEM_RESPONSES
from services.policies.dependencies import ReaderDep, SessionDep, ToolsDep
from services.policies.models import Application, Policy, PremiumDue, UnderwritingRequirement
from services.policies.repository import read_dated_cursor, visible_to

BASE = "/api/v1/policies/worklists"
LIVE_STATUSES = ("receipt_signed", "return_visit_done", "in_force")


def _status_is(column: Any, *values: str) -> ColumnElement[bool]:
    """Status values inlined as constants, so the planner can prove a partial index's predicate
    (a bound parameter in a generic plan would hide it)."""
    inlined = [literal(v, literal_execute=True) for v in values]
    return column == inlined[0] if len(inlined) == 1 else column.in_(inlined)  # type: ignore[no-any-return]


WithinDays = Annotated[int, Query(ge=0, le=365, description="Look this many days ahead of today.")]


class RequirementDue(BaseModel):
    requirement_id: uuid.UUID
    application_id: uuid.UUID
    client_id: uuid.UUID
    insured_name: str
    kind: str
    description: str | None
    due_on: date
    overdue: bool


class CoolingOffEnding(BaseModel):
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    product_name: str
    receipt_signed_on: date
    cooling_off_ends_on: date
    days_left: int


class ReturnVisitPending(BaseModel):
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    product_name: str
    receipt_signed_on: date
    cooling_off_ends_on: date


class PremiumDueItem(BaseModel):
    premium_id: uuid.UUID
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    instalment: int
    due_on: date
    amount: Decimal
    overdue: bool


def _after(date_col: Any, id_col: Any, cursor: str | None) -> list[ColumnElement[bool]]:
    after = read_dated_cursor(cursor)
    return [] if after is None else [tuple_(date_col, id_col) > tuple_(*after)]


def _cut(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    day, record_id = key(rows[-1])
    return rows, encode_cursor([day.isoformat(), str(record_id)])


async def requirements_due(
    *,
    session: AsyncSession,
    principal: Principal,
    today: date,
    within_days: int,
    limit: int,
    cursor: str | None,
) -> Page[RequirementDue]:
    """Pending underwriting requirements due on or before today + N (overdue ones included)."""
    r = UnderwritingRequirement
    stmt = (
        select(r, col(Application.client_id), col(Application.insured_name))
        .join(Application, col(Application.id) == col(r.application_id))
        .where(
            _status_is(col(r.status), "pending"),
            visible_to(r, principal),
            col(r.due_on) <= today + timedelta(days=within_days),
            *_after(col(r.due_on), col(r.id), cursor),
        )
        .order_by(col(r.due_on), col(r.id))
        .limit(limit + 1)
    )
    rows, next_cursor = _cut(
        list((await session.execute(stmt)).all()), limit, lambda row: (row[0].due_on, row[0].id)
    )
    return Page[RequirementDue](
        items=[
            RequirementDue(
                requirement_id=req.id,
                application_id=req.application_id,
                client_id=client_id,
                insured_name=insured_name,
                kind=req.kind,
                description=req.description,
                due_on=req.due_on,
                overdue=req.due_on < today,
            )
            for req, client_id, insured_name in rows
        ],
        next_cursor=next_cursor,
    )


async def cooling_off_ending(
    *,
    session: AsyncSession,
    principal: Principal,
    today: date,
    within_days: int,
    limit: int,
    cursor: str | None,
) -> Page[CoolingOffEnding]:
    """Live policies whose cooling-off period ends between today and today + N."""
    stmt = (
        select(Policy)
        .where(
            _status_is(col(Policy.status), *LIVE_STATUSES),
            visible_to(Policy, principal),
            col(Policy.cooling_off_ends_on) >= today,
            col(Policy.cooling_off_ends_on) <= today + timedelta(days=within_days),
            *_after(col(Policy.cooling_off_ends_on), col(Policy.id), cursor),
        )
        .order_by(col(Policy.cooling_off_ends_on), col(Policy.id))
        .limit(limit + 1)
    )
    rows, next_cursor = _cut(
        list((await session.execute(stmt)).scalars()), limit, lambda p: (p.cooling_off_ends_on, p.id)
    )
    return Page[CoolingOffEnding](
        items=[
            CoolingOffEnding(
                policy_id=p.id,
                policy_number=p.policy_number,
                client_id=p.client_id,
                insured_name=p.insured_name,
                product_name=p.product_name,
                receipt_signed_on=p.receipt_signed_on,
                cooling_off_ends_on=p.cooling_off_ends_on,
                days_left=(p.cooling_off_ends_on - today).days,
            )
            for p in rows
        ],
        next_cursor=next_cursor,
    )


async def return_visits_pending(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> Page[ReturnVisitPending]:
    """Policies whose receipt is signed and whose return visit has not been recorded, oldest first."""
    stmt = (
        select(Policy)
        .where(
            _status_is(col(Policy.status), "receipt_signed"),
            visible_to(Policy, principal),
            *_after(col(Policy.receipt_signed_on), col(Policy.id), cursor),
        )
        .order_by(col(Policy.receipt_signed_on), col(Policy.id))
        .limit(limit + 1)
    )
    rows, next_cursor = _cut(
        list((await session.execute(stmt)).scalars()), limit, lambda p: (p.receipt_signed_on, p.id)
    )
    return Page[ReturnVisitPending](
        items=[
            ReturnVisitPending(
                policy_id=p.id,
                policy_number=p.policy_number,
                client_id=p.client_id,
                insured_name=p.insured_name,
                product_name=p.product_name,
                receipt_signed_on=p.receipt_signed_on,
                cooling_off_ends_on=p.cooling_off_ends_on,
            )
            for p in rows
        ],
        next_cursor=next_cursor,
    )


async def premiums_due(
    *,
    session: AsyncSession,
    principal: Principal,
    today: date,
    within_days: int,
    limit: int,
    cursor: str | None,
) -> Page[PremiumDueItem]:
    """Unpaid instalments due on or before today + N (overdue ones first, by date)."""
    d = PremiumDue
    stmt = (
        select(d, col(Policy.policy_number), col(Policy.client_id))
        .join(Policy, col(Policy.id) == col(d.policy_id))
        .where(
            _status_is(col(d.status), "due"),
            visible_to(d, principal),
            col(d.due_on) <= today + timedelta(days=within_days),
            *_after(col(d.due_on), col(d.id), cursor),
        )
        .order_by(col(d.due_on), col(d.id))
        .limit(limit + 1)
    )
    rows, next_cursor = _cut(
        list((await session.execute(stmt)).all()), limit, lambda row: (row[0].due_on, row[0].id)
    )
    return Page[PremiumDueItem](
        items=[
            PremiumDueItem(
                premium_id=due.id,
                policy_id=due.policy_id,
                policy_number=number,
                client_id=client_id,
                instalment=due.instalment,
                due_on=due.due_on,
                amount=due.amount,
                overdue=due.due_on < today,
            )
            for due, number, client_id in rows
        ],
        next_cursor=next_cursor,
    )


router = APIRouter(
    prefix=BASE,
    tags=["work lists"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.get("/requirements-due")
async def list_requirements_due(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[RequirementDue]:
    """Underwriting requirements due within N days (and overdue ones)."""
    return await requirements_due(
        session=session,
        principal=principal,
        today=tools.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


@router.get("/cooling-off-ending")
async def list_cooling_off_ending(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[CoolingOffEnding]:
    """Policies whose cooling-off period ends within N days."""
    return await cooling_off_ending(
        session=session,
        principal=principal,
        today=tools.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


@router.get("/return-visits-pending")
async def list_return_visits_pending(
    principal: ReaderDep, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[ReturnVisitPending]:
    """Policies waiting for the insurer's return visit."""
    return await return_visits_pending(session=session, principal=principal, limit=limit, cursor=cursor)


@router.get("/premiums-due")
async def list_premiums_due(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 30,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[PremiumDueItem]:
    """Premium instalments due within N days (and overdue ones)."""
    return await premiums_due(
        session=session,
        principal=principal,
        today=tools.today(),
        within_days=within_days,
        limit=limit,
        cursor=cursor,
    )


class AgendaLists(BaseModel):
    """The policies part of an agent's agenda: every work list, one page each, in one call."""

    requirements_due: Page[RequirementDue]
    cooling_off_ending: Page[CoolingOffEnding]
    return_visits_pending: Page[ReturnVisitPending]
    premiums_due: Page[PremiumDueItem]


agenda_router = APIRouter(
    prefix="/api/v1/policies",
    tags=["work lists"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@agenda_router.get("/agenda-lists")
async def list_agenda_lists(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    within_days: WithinDays = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AgendaLists:
    """The four work lists at once, the first page of each (what the agenda shows)."""
    common: dict[str, Any] = {"session": session, "principal": principal, "limit": limit, "cursor": None}
    ahead: dict[str, Any] = {**common, "today": tools.today(), "within_days": within_days}
    return AgendaLists(
        requirements_due=await requirements_due(**ahead),
        cooling_off_ending=await cooling_off_ending(**ahead),
        return_visits_pending=await return_visits_pending(**common),
        premiums_due=await premiums_due(**ahead),
    )
