"""Work lists for the agent's agenda, each in the caller's scope, soonest first.

Each query reads one partial index (pending requirements, live policies, receipt signed, due
premiums) led by the scope column, keyset on ``(date, id)``.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page, read_cursor, trim
from services.policies import annual_review
from services.policies.models import Application, Policy, PremiumDue, UnderwritingRequirement
from services.policies.repository import status_is, visible_to
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


def _after(date_col: Any, id_col: Any, cursor: str | None) -> list[ColumnElement[bool]]:
    """Rows after the ``(date, id)`` key of the previous page's last row."""
    after = read_cursor(cursor, date, uuid.UUID)
    return [] if after is None else [tuple_(date_col, id_col) > tuple_(*after)]


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
        .join(
            Application,
            # The owners too: a co-located join on a distributed table (docs/scaling.md).
            and_(
                col(Application.id) == col(r.application_id),
                col(Application.owner_agent_id) == col(r.owner_agent_id),
            ),
        )
        .where(
            status_is(col(r.status), "pending"),
            visible_to(r, principal),
            col(r.due_on) <= today + timedelta(days=within_days),
            *_after(col(r.due_on), col(r.id), cursor),
        )
        .order_by(col(r.due_on), col(r.id))
        .limit(limit + 1)
    )
    rows, next_cursor = trim(
        list((await session.execute(stmt)).all()), limit, key=lambda row: (row[0].due_on, row[0].id)
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
            status_is(col(Policy.status), *LIVE_STATUSES),
            visible_to(Policy, principal),
            col(Policy.cooling_off_ends_on) >= today,
            col(Policy.cooling_off_ends_on) <= today + timedelta(days=within_days),
            *_after(col(Policy.cooling_off_ends_on), col(Policy.id), cursor),
        )
        .order_by(col(Policy.cooling_off_ends_on), col(Policy.id))
        .limit(limit + 1)
    )
    found: list[Any] = list((await session.execute(stmt)).scalars())  # the query ensures the dates
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


async def return_visits_pending(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> Page[ReturnVisitPending]:
    """Policies whose receipt is signed and whose return visit has not passed, oldest first: a
    policy still here with a visit recorded is a redo (the last visit failed)."""
    stmt = (
        select(Policy)
        .where(
            status_is(col(Policy.status), "receipt_signed"),
            visible_to(Policy, principal),
            *_after(col(Policy.receipt_signed_on), col(Policy.id), cursor),
        )
        .order_by(col(Policy.receipt_signed_on), col(Policy.id))
        .limit(limit + 1)
    )
    rows, next_cursor = trim(
        list((await session.execute(stmt)).scalars()), limit, key=lambda p: (p.receipt_signed_on, p.id)
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
                redo=p.return_visit is not None,
                last_visit_on=p.return_visit["visited_on"] if p.return_visit else None,
                failure_reasons=p.return_visit.get("failure_reasons", []) if p.return_visit else [],
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
    """Unpaid instalments due on or before today + N (overdue ones first, by date).

    The page of instalments is taken first (one partial index walked in order), then each joined
    to its policy by primary key: every instalment has its policy (same owner), so the join drops
    none, and the planner need not guess how many it would."""
    d = PremiumDue
    page = aliased(
        d,
        select(d)
        .where(
            status_is(col(d.status), "due"),
            visible_to(d, principal),
            col(d.due_on) <= today + timedelta(days=within_days),
            *_after(col(d.due_on), col(d.id), cursor),
        )
        .order_by(col(d.due_on), col(d.id))
        .limit(limit + 1)
        .subquery("page"),
    )
    stmt = (
        select(page, col(Policy.policy_number), col(Policy.client_id))
        .join(
            Policy,
            # The owners too: a co-located join on a distributed table (docs/scaling.md).
            and_(
                col(Policy.id) == col(page.policy_id), col(Policy.owner_agent_id) == col(page.owner_agent_id)
            ),
        )
        .order_by(col(page.due_on), col(page.id))
    )
    rows, next_cursor = trim(
        list((await session.execute(stmt)).all()), limit, key=lambda row: (row[0].due_on, row[0].id)
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
    d = PremiumDue
    page = (
        select(
            col(d.id),
            col(d.policy_id),
            col(d.owner_agent_id),
            col(d.instalment),
            col(d.due_on),
            col(d.amount),
        )
        .where(
            status_is(col(d.status), "due"),
            col(d.collectable),
            visible_to(d, principal),
            col(d.due_on) < today,
            *_after(col(d.due_on), col(d.id), cursor),
        )
        .order_by(col(d.due_on), col(d.id))
        .limit(limit + 1)
        .subquery("page")
    )
    stmt = (
        select(
            page.c.id,
            page.c.instalment,
            page.c.due_on,
            page.c.amount,
            col(Policy.id).label("policy_id"),
            col(Policy.policy_number),
            col(Policy.client_id),
            col(Policy.insured_name),
            col(Policy.grace_days),
        )
        .select_from(page)
        .join(
            Policy,
            # The owners too: a co-located join on a distributed table (docs/scaling.md).
            and_(col(Policy.id) == page.c.policy_id, col(Policy.owner_agent_id) == page.c.owner_agent_id),
        )
        .order_by(page.c.due_on, page.c.id)
    )
    found: list[Any] = list((await session.execute(stmt)).all())
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


async def renewals_due(
    *, session: AsyncSession, principal: Principal, today: date, limit: int, cursor: str | None
) -> Page[RenewalDue]:
    """One-year renewable terms ending within 60 days, undecided, soonest first."""
    window = max(RENEWAL_NOTICE_DAYS)
    stmt = (
        select(Policy)
        .where(
            status_is(col(Policy.status), *LAPSABLE_STATES),
            visible_to(Policy, principal),
            col(Policy.renewable),
            col(Policy.renewal_decision).is_(None),
            col(Policy.expires_on) > today,
            col(Policy.expires_on) <= today + timedelta(days=window),
            *_after(col(Policy.expires_on), col(Policy.id), cursor),
        )
        .order_by(col(Policy.expires_on), col(Policy.id))
        .limit(limit + 1)
    )
    found: list[Any] = list((await session.execute(stmt)).scalars())  # the query ensures the dates
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


async def lapsed(
    *, session: AsyncSession, principal: Principal, today: date, limit: int, cursor: str | None
) -> Page[LapsedPolicy]:
    """Lapsed policies still inside the two years of reinstatement, oldest lapse first."""
    stmt = (
        select(Policy)
        .where(
            status_is(col(Policy.status), "lapsed"),
            visible_to(Policy, principal),
            col(Policy.lapsed_on) > add_years(today, -REINSTATEMENT_YEARS),
            *_after(col(Policy.lapsed_on), col(Policy.id), cursor),
        )
        .order_by(col(Policy.lapsed_on), col(Policy.id))
        .limit(limit + 1)
    )
    found: list[Any] = list((await session.execute(stmt)).scalars())
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
