"""The scheduled sweep: what the calendar changes, persisted and published by itself.

Each run, in one transaction:

1. **lapse** (中止, 保险法 §36): a live policy with an instalment unpaid past its grace period
   (``grace_days`` after the due date, 60 by default) lapses on the day after the grace period;
2. **termination** (§37): a policy lapsed for two years without reinstatement is terminated;
3. **expiry**: a term policy (or a lapsed one) whose term ended (``expires_on``) expires;
4. **end of cooling-off**: a live policy whose cooling-off period ended is noted once;
5. **renewal due**: a one-year renewable policy not yet decided is announced at 60, 30 and 7
   days before its term ends (once per step; after downtime, only the nearest step).

Every change writes an audit row, which is the outbox (``crmkit/events.py``): webhooks and the
changes feed carry ``policy.lapsed``, ``policy.terminated``, ``policy.expired``,
``policy.cooling_off_ended`` and ``policy.renewal_due``.

Exactly once across replicas: the run holds a transaction-scoped PostgreSQL advisory lock; a
replica that cannot take it skips the run (the holder does the work). Rows a user is changing
at that moment are skipped (``FOR UPDATE SKIP LOCKED``) and caught by the next run. Idempotent
and catching up: every date is computed from the record (the due date, the lapse date, the
term's end), never from the day the sweep happens to run, and each step selects only what has
not been done yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import ColumnElement, Select, and_, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.clock import BusinessClock, utc_now
from services.policies import collectable
from services.policies.issued.service import audit_view
from services.policies.models import Policy, PremiumDue, infra_tables
from services.policies.terms import REINSTATEMENT_YEARS, RENEWAL_NOTICE_DAYS, add_years
from services.policies.transitions import POLICY, POLICY_SWEPT_STATES

log = logging.getLogger("policies.sweep")

LOCK_KEY = 0x706F6C5F73776570  # "pol_swep": one advisory lock id for the whole service
ACTOR = "system:policy-sweep"
LIVE = ("issued", "receipt_signed", "return_visit_done", "in_force")
COOLING_OFF = ("receipt_signed", "return_visit_done", "in_force")


@dataclass
class SweepReport:
    """What one run did; ``ran`` is False when another replica held the lock."""

    ran: bool = True
    today: date | None = None
    lapsed: int = 0
    terminated: int = 0
    expired: int = 0
    cooling_off_ended: int = 0
    renewal_due: int = 0
    changed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.lapsed + self.terminated + self.expired + self.cooling_off_ended + self.renewal_due


async def _publish(
    session: AsyncSession, policy: Policy, action: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    await session.execute(
        insert(infra_tables.audit_log).values(
            actor=ACTOR,
            actor_role="system",
            action=action,
            resource_type=POLICY,
            resource_id=policy.id,
            before=before,
            after=after,
        )
    )


def _locked(stmt: Select[Any]) -> Select[Any]:
    return stmt.with_for_update(of=Policy, skip_locked=True)


async def _lapse(session: AsyncSession, today: date, report: SweepReport) -> None:
    first_unpaid = (
        select(col(PremiumDue.policy_id).label("policy_id"), func.min(col(PremiumDue.due_on)).label("due_on"))
        .where(col(PremiumDue.status) == "due", col(PremiumDue.due_on) < today)
        .group_by(col(PremiumDue.policy_id))
        .subquery()
    )
    lapse_day = first_unpaid.c.due_on + col(Policy.grace_days) + 1
    stmt = _locked(
        select(Policy, first_unpaid.c.due_on)
        .join(first_unpaid, first_unpaid.c.policy_id == col(Policy.id))
        .where(
            col(Policy.status).in_(LIVE),
            lapse_day <= today,
            or_(col(Policy.expires_on).is_(None), lapse_day < col(Policy.expires_on)),
        )
    )
    moved: list[Policy] = []
    for policy, due_on in (await session.execute(stmt)).all():
        lapsed_on = due_on + timedelta(days=policy.grace_days + 1)
        before = audit_view(policy)
        policy.status = "lapsed"
        policy.lapsed_on = lapsed_on
        policy.lapses = [*policy.lapses, {"lapsed_on": lapsed_on.isoformat(), "ended_on": None}]
        _touch(policy)
        after = audit_view(policy) | {"unpaid_due_on": due_on.isoformat(), "grace_days": policy.grace_days}
        await _publish(session, policy, "policy.lapsed", before, after)
        report.lapsed += 1
        moved.append(policy)
    await collectable.sync(session, *moved)


async def _terminate(session: AsyncSession, today: date, report: SweepReport) -> None:
    cutoff = add_years(today, -REINSTATEMENT_YEARS)
    stmt = _locked(
        select(Policy).where(
            col(Policy.status) == "lapsed",
            col(Policy.lapsed_on) <= cutoff,
        )
    )
    moved: list[Policy] = []
    for policy in (await session.execute(stmt)).scalars():
        assert policy.lapsed_on is not None
        ends = add_years(policy.lapsed_on, REINSTATEMENT_YEARS)
        if ends > today or (policy.expires_on is not None and policy.expires_on <= ends):
            continue  # 29 February, or the term ends first: expiry takes it
        before = audit_view(policy)
        policy.status = "terminated"
        policy.ended_on = ends
        _touch(policy)
        await _publish(session, policy, "policy.terminated", before, audit_view(policy))
        report.terminated += 1
        moved.append(policy)
    await collectable.sync(session, *moved)


async def _expire(session: AsyncSession, today: date, report: SweepReport) -> None:
    stmt = _locked(
        select(Policy).where(
            col(Policy.status).in_(POLICY_SWEPT_STATES),
            col(Policy.expires_on) <= today,
        )
    )
    policies = list((await session.execute(stmt)).scalars())
    if not policies:
        return
    ids = [p.id for p in policies]
    dues = select(PremiumDue).where(col(PremiumDue.policy_id).in_(ids), col(PremiumDue.status) == "due")
    unpaid: dict[Any, list[PremiumDue]] = {}
    for due in (await session.execute(dues)).scalars():
        unpaid.setdefault(due.policy_id, []).append(due)
    for policy in policies:
        assert policy.expires_on is not None
        before = audit_view(policy)
        for due in unpaid.get(policy.id, []):
            if due.due_on >= policy.expires_on or policy.status != "lapsed":
                due.status = "void"
        policy.status = "expired"
        policy.ended_on = policy.expires_on
        _touch(policy)
        await _publish(session, policy, "policy.expired", before, audit_view(policy))
        report.expired += 1
    await collectable.sync(session, *policies)


async def _cooling_off(session: AsyncSession, today: date, report: SweepReport) -> None:
    stmt = _locked(
        select(Policy).where(
            ~col(Policy.cooling_off_noted),
            col(Policy.cooling_off_ends_on).is_not(None),
            col(Policy.cooling_off_ends_on) < today,
            col(Policy.status).in_(COOLING_OFF),
        )
    )
    for policy in (await session.execute(stmt)).scalars():
        policy.cooling_off_noted = True
        assert policy.cooling_off_ends_on is not None
        after = audit_view(policy)
        await _publish(session, policy, "policy.cooling_off_ended", None, after)
        report.cooling_off_ended += 1


def notice_step(days_left: int) -> int | None:
    """The nearest renewal notice reached with ``days_left`` to go (60, 30, 7), if any."""
    reached = [d for d in RENEWAL_NOTICE_DAYS if days_left <= d]
    return min(reached) if reached else None


async def _renewal_due(session: AsyncSession, today: date, report: SweepReport) -> None:
    steps = sorted(RENEWAL_NOTICE_DAYS, reverse=True)
    not_yet: list[ColumnElement[bool]] = [col(Policy.renewal_notice_days).is_(None)]
    for higher, lower in itertools.pairwise(steps):
        not_yet.append(
            and_(
                col(Policy.renewal_notice_days) >= higher,
                col(Policy.expires_on) <= today + timedelta(days=lower),
            )
        )
    stmt = _locked(
        select(Policy).where(
            col(Policy.renewable),
            col(Policy.renewal_decision).is_(None),
            col(Policy.status).in_(LIVE),
            col(Policy.expires_on) > today,
            col(Policy.expires_on) <= today + timedelta(days=max(steps)),
            or_(*not_yet),
        )
    )
    for policy in (await session.execute(stmt)).scalars():
        assert policy.expires_on is not None
        days_left = (policy.expires_on - today).days
        step = notice_step(days_left)
        if step is None or (policy.renewal_notice_days is not None and policy.renewal_notice_days <= step):
            continue
        policy.renewal_notice_days = step
        after = audit_view(policy) | {"days_left": days_left, "notice_days": step}
        await _publish(session, policy, "policy.renewal_due", None, after)
        report.renewal_due += 1


def _touch(policy: Policy) -> None:
    policy.version += 1
    policy.updated_at = utc_now()


async def run_once(*, sessions: async_sessionmaker[AsyncSession], clock: BusinessClock) -> SweepReport:
    """One sweep as of ``clock.today()``; skipped (``ran=False``) while another replica sweeps."""
    today = clock.today()
    async with sessions() as session, session.begin():
        got = (await session.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY)))).scalar_one()
        if not got:
            return SweepReport(ran=False, today=today)
        report = SweepReport(today=today)
        await _lapse(session, today, report)
        await session.flush()
        await _terminate(session, today, report)
        await session.flush()
        await _expire(session, today, report)
        await _cooling_off(session, today, report)
        await _renewal_due(session, today, report)
        await session.flush()
    return report


def sweep_hook(interval_seconds: float, clock: Callable[[FastAPI], BusinessClock]) -> Any:
    """An app hook: the sweep every ``interval_seconds`` (0 turns it off), first run at startup."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        if interval_seconds <= 0:
            yield
            return
        task = asyncio.create_task(_forever(app, interval_seconds, clock))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return hook


async def _forever(app: FastAPI, interval_seconds: float, clock: Callable[[FastAPI], BusinessClock]) -> None:
    while True:
        try:
            report = await run_once(sessions=app.state.sessions, clock=clock(app))
            if report.total:
                log.info(
                    "policy sweep",
                    extra={
                        "lapsed": report.lapsed,
                        "terminated": report.terminated,
                        "expired": report.expired,
                        "cooling_off_ended": report.cooling_off_ended,
                        "renewal_due": report.renewal_due,
                    },
                )
        except Exception:  # the next run tries again; a sweep never stops the service
            log.warning("policy sweep failed; retrying at the next interval", exc_info=True)
        await asyncio.sleep(interval_seconds)
