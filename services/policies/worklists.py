"""Work lists for the agent's agenda, each in the caller's scope, soonest first.

Each query reads one partial index (pending requirements, live policies, receipt signed, due
premiums) led by the scope column, keyset on ``(date, id)``. Each statement is built once per reach
and page size (building them per request was a fifth of the agenda's CPU in this service, issue 22)
and run with its dates, the caller's id (``scope_id``) and, for a later page, ``after_on`` and
``after_id``; rows are read as plain rows of the columns shown, without ORM instances.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, Table, Uuid, and_, bindparam, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from crmkit.pagination import Page, read_cursor, trim
from crmkit.scope import SCOPE_PARAMETER, Reach, reach, reach_predicate, scope_parameter
from services.policies import annual_review
from services.policies.models import Application, Policy, PremiumDue, UnderwritingRequirement
from services.policies.repository import status_is
from services.policies.schemas import (
    AgendaLists,
    CollectionItem,
    CoolingOffEnding,
    LapsedPolicy,
    PremiumDueItem,
    RenewalDue,
    RequirementDue,
    ReturnVisitPending,
)
from services.policies.terms import REINSTATEMENT_YEARS, RENEWAL_NOTICE_DAYS, add_years
from services.policies.transitions import LAPSABLE_STATES

LIVE_STATUSES = ("receipt_signed", "return_visit_done", "in_force")
POLICIES: Table = Policy.__table__  # type: ignore[attr-defined]
DUES: Table = PremiumDue.__table__  # type: ignore[attr-defined]
REQUIREMENTS: Table = UnderwritingRequirement.__table__  # type: ignore[attr-defined]
APPLICATIONS: Table = Application.__table__  # type: ignore[attr-defined]


def _on(name: str) -> Any:
    return bindparam(name, type_=Date)


def _in_reach(table: Table, kind: Reach) -> ColumnElement[bool]:
    return reach_predicate(kind, owner=table.c.owner_agent_id, team=table.c.team_id, value=scope_parameter())


def _after(date_col: Any, id_col: Any, paged: bool) -> list[ColumnElement[bool]]:
    """Rows after the ``(date, id)`` key of the previous page's last row (``after_on``, ``after_id``)."""
    after = (_on("after_on"), bindparam("after_id", type_=Uuid()))
    return [tuple_(date_col, id_col) > tuple_(*after)] if paged else []


def _page_of(
    statement: Select[Any],
    table: Table,
    key: Any,
    kind: Reach,
    paged: bool,
    rows: int,
    *conditions: ColumnElement[bool],
) -> Select[Any]:
    """``statement`` where ``conditions`` hold, in the caller's reach, after the cursor: one page in
    ``(key, id)`` order."""
    return (
        statement.where(*conditions, _in_reach(table, kind), *_after(key, table.c.id, paged))
        .order_by(key, table.c.id)
        .limit(rows)
    )


def _dues_with_policy(
    kind: Reach, paged: bool, rows: int, *conditions: ColumnElement[bool], policy: list[Any]
) -> Select[Any]:
    """A page of instalments (one partial index walked in order), then each joined to its policy by
    primary key for the ``policy`` columns."""
    d, p = DUES.c, POLICIES.c
    page = _page_of(
        select(d.id, d.policy_id, d.owner_agent_id, d.instalment, d.due_on, d.amount),
        DUES,
        d.due_on,
        kind,
        paged,
        rows,
        status_is(d.status, "due"),
        *conditions,
    ).subquery("page")
    return (
        select(
            page.c.id,
            page.c.policy_id,
            page.c.instalment,
            page.c.due_on,
            page.c.amount,
            *policy,
        )
        .select_from(page)
        .join(
            POLICIES,
            # The owners too: a co-located join on a distributed table (docs/scaling.md).
            and_(p.id == page.c.policy_id, p.owner_agent_id == page.c.owner_agent_id),
        )
        .order_by(page.c.due_on, page.c.id)
    )


async def _rows(
    session: AsyncSession,
    statement: Any,
    principal: Principal,
    cursor: str | None,
    limit: int,
    **dates: date,
) -> list[Row[Any]]:
    """``statement(kind, paged, rows)`` run for the caller, the page after ``cursor``, and ``dates``."""
    kind, scope_id = reach(principal)
    after = read_cursor(cursor, date, uuid.UUID)
    parameters: dict[str, Any] = {SCOPE_PARAMETER: scope_id, **dates}
    if after is not None:
        parameters["after_on"], parameters["after_id"] = after
    return list((await session.execute(statement(kind, after is not None, limit + 1), parameters)).all())


@functools.lru_cache(maxsize=64)
def _requirements_due(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    r, a = REQUIREMENTS.c, APPLICATIONS.c
    requirements = select(
        r.id, r.application_id, r.kind, r.description, r.due_on, a.client_id, a.insured_name
    ).join_from(
        REQUIREMENTS,
        APPLICATIONS,
        # The owners too: a co-located join on a distributed table (docs/scaling.md).
        and_(a.id == r.application_id, a.owner_agent_id == r.owner_agent_id),
    )
    return _page_of(
        requirements,
        REQUIREMENTS,
        r.due_on,
        kind,
        paged,
        rows,
        status_is(r.status, "pending"),
        r.due_on <= _on("horizon"),
    )


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
    found = await _rows(
        session, _requirements_due, principal, cursor, limit, horizon=today + timedelta(days=within_days)
    )
    rows, next_cursor = trim(found, limit, key=lambda row: (row.due_on, row.id))
    return Page[RequirementDue](
        items=[
            RequirementDue(
                requirement_id=row.id,
                application_id=row.application_id,
                client_id=row.client_id,
                insured_name=row.insured_name,
                kind=row.kind,
                description=row.description,
                due_on=row.due_on,
                overdue=row.due_on < today,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@functools.lru_cache(maxsize=64)
def _cooling_off_ending(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    p = POLICIES.c
    return _page_of(
        select(POLICIES),
        POLICIES,
        p.cooling_off_ends_on,
        kind,
        paged,
        rows,
        status_is(p.status, *LIVE_STATUSES),
        p.cooling_off_ends_on >= _on("today"),
        p.cooling_off_ends_on <= _on("horizon"),
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
    found = await _rows(
        session,
        _cooling_off_ending,
        principal,
        cursor,
        limit,
        today=today,
        horizon=today + timedelta(days=within_days),
    )
    rows, next_cursor = trim(found, limit, key=lambda p: (p.cooling_off_ends_on, p.id))
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


@functools.lru_cache(maxsize=64)
def _return_visits_pending(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    p = POLICIES.c
    return _page_of(
        select(POLICIES),
        POLICIES,
        p.receipt_signed_on,
        kind,
        paged,
        rows,
        status_is(p.status, "receipt_signed"),
    )


async def return_visits_pending(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> Page[ReturnVisitPending]:
    """Policies whose receipt is signed and whose return visit has not passed, oldest first: a
    policy still here with a visit recorded is a redo (the last visit failed)."""
    found = await _rows(session, _return_visits_pending, principal, cursor, limit)
    rows, next_cursor = trim(found, limit, key=lambda p: (p.receipt_signed_on, p.id))
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
                redo=p.return_visit is not None,
                last_visit_on=p.return_visit["visited_on"] if p.return_visit else None,
                failure_reasons=p.return_visit.get("failure_reasons", []) if p.return_visit else [],
            )
            for p in rows
        ],
        next_cursor=next_cursor,
    )


@functools.lru_cache(maxsize=64)
def _premiums_due(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    p = POLICIES.c
    return _dues_with_policy(
        kind, paged, rows, DUES.c.due_on <= _on("horizon"), policy=[p.policy_number, p.client_id]
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
    """Unpaid instalments due on or before today + N (overdue ones first, by date).

    The page of instalments is taken first (one partial index walked in order), then each joined
    to its policy by primary key: every instalment has its policy (same owner), so the join drops
    none, and the planner need not guess how many it would."""
    found = await _rows(
        session, _premiums_due, principal, cursor, limit, horizon=today + timedelta(days=within_days)
    )
    rows, next_cursor = trim(found, limit, key=lambda row: (row.due_on, row.id))
    return Page[PremiumDueItem](
        items=[
            PremiumDueItem(
                premium_id=row.id,
                policy_id=row.policy_id,
                policy_number=row.policy_number,
                client_id=row.client_id,
                instalment=row.instalment,
                due_on=row.due_on,
                amount=row.amount,
                overdue=row.due_on < today,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@functools.lru_cache(maxsize=64)
def _collection(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    d, p = DUES.c, POLICIES.c
    return _dues_with_policy(
        kind,
        paged,
        rows,
        d.collectable,
        d.due_on < _on("today"),
        policy=[p.policy_number, p.client_id, p.insured_name, p.grace_days],
    )


async def collection(
    *, session: AsyncSession, principal: Principal, today: date, limit: int, cursor: str | None
) -> Page[CollectionItem]:
    """Overdue instalments of policies not lapsed yet, oldest first: each with the last day of its
    grace period (保险法 §36), after which the sweep lapses the policy.

    Read page first, as premiums-due is: ``limit + 1`` overdue instalments in ``(due_on, id)`` order
    from the partial index of the collectable ones (the caller's scope leading), then each joined to
    its policy by primary key. ``collectable`` is kept true exactly while the policy can still lapse
    (``services/policies/collectable.py``), so the arrears of lapsed or ended policies are not in the
    index at all: one bounded statement, whatever their number in the book."""
    found = await _rows(session, _collection, principal, cursor, limit, today=today)
    rows, next_cursor = trim(found, limit, key=lambda row: (row.due_on, row.id))
    items = []
    for row in rows:
        grace_ends_on = row.due_on + timedelta(days=row.grace_days)
        items.append(
            CollectionItem(
                premium_id=row.id,
                policy_id=row.policy_id,
                policy_number=row.policy_number,
                client_id=row.client_id,
                insured_name=row.insured_name,
                instalment=row.instalment,
                due_on=row.due_on,
                amount=row.amount,
                grace_ends_on=grace_ends_on,
                days_left=max(0, (grace_ends_on - today).days),
            )
        )
    return Page[CollectionItem](items=items, next_cursor=next_cursor)


@functools.lru_cache(maxsize=64)
def _renewals_due(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    p = POLICIES.c
    return _page_of(
        select(POLICIES),
        POLICIES,
        p.expires_on,
        kind,
        paged,
        rows,
        status_is(p.status, *LAPSABLE_STATES),
        p.renewable,
        p.renewal_decision.is_(None),
        p.expires_on > _on("today"),
        p.expires_on <= _on("horizon"),
    )


async def renewals_due(
    *, session: AsyncSession, principal: Principal, today: date, limit: int, cursor: str | None
) -> Page[RenewalDue]:
    """One-year renewable terms ending within 60 days, undecided, soonest first."""
    horizon = today + timedelta(days=max(RENEWAL_NOTICE_DAYS))
    found = await _rows(session, _renewals_due, principal, cursor, limit, today=today, horizon=horizon)
    rows, next_cursor = trim(found, limit, key=lambda p: (p.expires_on, p.id))
    items = []
    for p in rows:
        days_left = (p.expires_on - today).days
        items.append(
            RenewalDue(
                policy_id=p.id,
                policy_number=p.policy_number,
                client_id=p.client_id,
                insured_name=p.insured_name,
                product_name=p.product_name,
                expires_on=p.expires_on,
                days_left=days_left,
                notice_days=min(d for d in RENEWAL_NOTICE_DAYS if days_left <= d),
            )
        )
    return Page[RenewalDue](items=items, next_cursor=next_cursor)


@functools.lru_cache(maxsize=64)
def _lapsed(kind: Reach, paged: bool, rows: int) -> Select[Any]:
    p = POLICIES.c
    return _page_of(
        select(POLICIES),
        POLICIES,
        p.lapsed_on,
        kind,
        paged,
        rows,
        status_is(p.status, "lapsed"),
        p.lapsed_on > _on("lapsed_after"),
    )


async def lapsed(
    *, session: AsyncSession, principal: Principal, today: date, limit: int, cursor: str | None
) -> Page[LapsedPolicy]:
    """Lapsed policies still inside the two years of reinstatement, oldest lapse first."""
    found = await _rows(
        session, _lapsed, principal, cursor, limit, lapsed_after=add_years(today, -REINSTATEMENT_YEARS)
    )
    rows, next_cursor = trim(found, limit, key=lambda p: (p.lapsed_on, p.id))
    return Page[LapsedPolicy](
        items=[
            LapsedPolicy(
                policy_id=p.id,
                policy_number=p.policy_number,
                client_id=p.client_id,
                insured_name=p.insured_name,
                product_name=p.product_name,
                lapsed_on=p.lapsed_on,
                reinstatement_until=add_years(p.lapsed_on, REINSTATEMENT_YEARS) - timedelta(days=1),
            )
            for p in rows
        ],
        next_cursor=next_cursor,
    )


async def agenda_lists(
    *, session: AsyncSession, principal: Principal, today: date, within_days: int, limit: int
) -> AgendaLists:
    """The first page of each work list (what the agenda shows)."""
    common: dict[str, Any] = {"session": session, "principal": principal, "limit": limit, "cursor": None}
    ahead: dict[str, Any] = {**common, "today": today, "within_days": within_days}
    return AgendaLists(
        requirements_due=await requirements_due(**ahead),
        cooling_off_ending=await cooling_off_ending(**ahead),
        return_visits_pending=await return_visits_pending(**common),
        premiums_due=await premiums_due(**ahead),
        collection=await collection(**common, today=today),
        renewals_due=await renewals_due(**common, today=today),
        lapsed=await lapsed(**common, today=today),
        reviews_due=await annual_review.reviews_due(**ahead),
    )
