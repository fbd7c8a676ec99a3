"""The service's background round: read events, remind owners of tasks coming due, send the outbox.

``run_once`` is one round; the lifespan runs rounds every ``work_interval_seconds`` (0: never;
tests call ``app.state.worker.run_once(now=...)``). Every step is safe with two replicas: the
intake under an advisory lock per stream, the sweep and the outbox with ``SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.app import AppHook
from crmkit.auth import ServiceToken
from crmkit.clock import BusinessClock, utc_now
from services.tasks import calendar, intake, notifications, outbox, templates
from services.tasks.channels import Sender, senders
from services.tasks.config import Settings
from services.tasks.models import Task
from services.tasks.peers import Peers, service_authorization
from services.tasks.repository import unreminded_due

log = logging.getLogger("tasks.worker")
SWEEP_BATCH = 1000
APPOINTMENT_CHECK_SECONDS = 60.0
"""The appointments list is asked for at most once a minute (all agents' appointments of the day)."""
APPOINTMENT_LEAD = timedelta(hours=1)
WORK_LISTS_CHECK_SECONDS = 600.0
"""Premiums due and claim updates owed are read from the policies and claims work lists every ten minutes."""
PREMIUM_NOTICE_DAYS = 7
MORNING = clock_time(8, 0)
"""The day's greeting list goes out from 08:00 business time (the end of the quiet hours)."""


@dataclass
class RoundReport:
    plans_started: int = 0
    reminders: int = 0
    attempted: int = 0
    sent: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Worker:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    app: FastAPI
    senders: dict[str, Sender]
    appointments_checked_at: float = float("-inf")
    work_lists_checked_at: float = float("-inf")
    # One service token across rounds: the services keep every token they verified until it expires.
    authorization: ServiceToken = field(init=False)

    def __post_init__(self) -> None:
        self.authorization = ServiceToken(
            lambda ttl: service_authorization(self.settings, ttl), timedelta(minutes=5)
        )

    def peers(self) -> Peers:
        return Peers(
            http=self.app.state.peer_http, settings=self.settings, authorization=self.authorization()
        )

    def clock(self, now: datetime | None) -> BusinessClock:
        return BusinessClock(zone=self.settings.zone, now=(lambda: now) if now else utc_now)

    async def run_once(self, *, now: datetime | None = None, intake_events: bool = True) -> RoundReport:
        report = RoundReport()
        clock = self.clock(now)
        peers = self.peers()
        if intake_events:
            report.plans_started = await intake.pull(sessions=self.sessions, peers=peers, clock=clock)
        report.reminders = await self.sweep(clock)
        if now is not None or time.monotonic() - self.appointments_checked_at >= APPOINTMENT_CHECK_SECONDS:
            try:
                report.reminders += await self.appointments_soon(clock, peers)
                self.appointments_checked_at = time.monotonic()
            except Exception as exc:  # the clients service is away: next round
                report.errors.append(f"appointments: {type(exc).__name__}")
        if now is not None or time.monotonic() - self.work_lists_checked_at >= WORK_LISTS_CHECK_SECONDS:
            try:
                report.reminders += await self.work_lists(clock, peers)
                report.reminders += await self.greetings_this_morning(clock, peers)
                self.work_lists_checked_at = time.monotonic()
            except Exception as exc:  # a service is away: next round
                report.errors.append(f"work lists: {type(exc).__name__}")
        while True:
            attempted, sent = await outbox.send_due(
                sessions=self.sessions, peers=peers, senders=self.senders, moment=clock.now()
            )
            report.attempted += attempted
            report.sent += sent
            if attempted < outbox.CLAIM_BATCH:
                break
        return report

    async def sweep(self, clock: BusinessClock) -> int:
        """Remind each owner once of every open task due within the lead time (dedupe per task),
        a thousand tasks a transaction, rows another replica is sweeping skipped."""
        horizon = clock.now() + timedelta(minutes=self.settings.reminder_lead_minutes)
        total = 0
        while True:
            async with self.sessions() as session:
                rows = (
                    await session.execute(
                        select(
                            col(Task.id),
                            col(Task.title),
                            col(Task.owner_agent_id),
                            col(Task.due_at),
                            col(Task.due_on),
                        )
                        .where(unreminded_due(horizon))
                        .order_by(col(Task.due_by))
                        .limit(SWEEP_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                items = [
                    (
                        owner,
                        {
                            "title": title,
                            "due": clock.local(due_at).strftime("%Y-%m-%d %H:%M") if due_at else str(due_on),
                        },
                        f"/api/v1/tasks/{task_id}",
                        f"task-due:{task_id}",
                    )
                    for task_id, title, owner, due_at, due_on in rows
                ]
                await notifications.remind_many(
                    session=session,
                    clock=clock,
                    template_key="task_due",
                    items=items,
                    created_by="system:reminders",
                )
                if rows:
                    await session.execute(
                        update(Task)
                        .where(col(Task.id).in_([r[0] for r in rows]))
                        .values(reminded_at=clock.now())
                    )
                await session.commit()
            total += len(rows)
            if len(rows) < SWEEP_BATCH:
                return total

    async def appointments_soon(self, clock: BusinessClock, peers: Peers) -> int:
        """Remind the agent who booked it of each appointment starting within the hour (once each)."""
        now = clock.now()
        items = []
        for appointment in await peers.appointments(clock.today()):
            at = datetime.fromisoformat(appointment["at"])
            if not now < at <= now + APPOINTMENT_LEAD:
                continue
            items.append(
                (
                    uuid.UUID(appointment["recorded_by"]),
                    {
                        "client": appointment["client_name"],
                        "at": clock.local(at).strftime("%H:%M"),
                        "place": appointment.get("place") or "未定",
                    },
                    f"/api/v1/clients/{appointment['client_id']}/interactions/{appointment['id']}",
                    f"appointment-soon:{appointment['id']}:{at.isoformat()}",
                )
            )
        if not items:
            return 0
        return await self._remind(clock, "appointment_soon", items)

    async def work_lists(self, clock: BusinessClock, peers: Peers) -> int:
        """Premiums due within a week (once per instalment) and claims whose client is owed the
        weekly update (once a day per claim), each to the agent who owns the policy or claim. Each
        page of a work list is reminded as it comes, in a transaction of its own, so a large book's
        lists are never held whole and no transaction waits on the peers; a check that fails half
        way is retried next round, and the reminders' dedupe keys make it add only what is missing."""
        today = clock.today()
        owners: dict[str, uuid.UUID | None] = {}
        made = 0
        async for premiums in peers.premiums_due(PREMIUM_NOTICE_DAYS):
            items: list[tuple[uuid.UUID, dict[str, str], str, str]] = []
            for premium in premiums:
                policy_id = premium["policy_id"]
                if policy_id not in owners:
                    policy = await peers.record("policy", uuid.UUID(policy_id))
                    owners[policy_id] = uuid.UUID(policy["owner_agent_id"]) if policy else None
                owner = owners[policy_id]
                if owner is None:
                    continue
                items.append(
                    (
                        owner,
                        {
                            "policy": premium["policy_number"],
                            "instalment": str(premium["instalment"]),
                            "due": premium["due_on"],
                        },
                        f"/api/v1/policies/{policy_id}",
                        f"premium-due:{premium['premium_id']}",
                    )
                )
            made += await self._remind(clock, "premium_due", items)
        async for claims in peers.claim_updates_due(today):
            items = []
            for claim in claims:
                label = " ".join(p for p in (claim["claimant"]["name"], claim.get("policy_number")) if p)
                items.append(
                    (
                        uuid.UUID(claim["owner_agent_id"]),
                        {"claim": label, "due": claim.get("client_update_due_on") or today.isoformat()},
                        f"/api/v1/claims/{claim['id']}",
                        f"claim-update:{claim['id']}:{today.isoformat()}",
                    )
                )
            made += await self._remind(clock, "claim_update_owed", items)
        return made

    async def _remind(
        self, clock: BusinessClock, template: str, items: list[tuple[uuid.UUID, dict[str, str], str, str]]
    ) -> int:
        """A batch of reminders (a work list's page, the appointments soon), committed."""
        async with self.sessions() as session:
            made = await notifications.remind_many(
                session=session,
                clock=clock,
                template_key=template,
                items=items,
                created_by="system:reminders",
            )
            await session.commit()
        return made

    async def greetings_this_morning(self, clock: BusinessClock, peers: Peers) -> int:
        """From 08:00 business time, each agent whose clients have a birthday or family milestone
        today gets the day's greeting list once (manual 五.3); the list itself is
        ``GET /api/v1/tasks/greetings``. Festivals are named in it on their day."""
        if clock.local(clock.now()).time() < MORNING:
            return 0
        today = clock.today()
        festivals = [f.name for f in calendar.festivals_between(today, today)]
        names_by_owner: dict[uuid.UUID, list[str]] = {}
        owners: dict[str, uuid.UUID | None] = {}
        for item in await peers.upcoming(today, 0):
            client_id = item["client_id"]
            if client_id not in owners:
                client = await peers.record("client", uuid.UUID(client_id))
                owners[client_id] = uuid.UUID(client["owner_agent_id"]) if client else None
            owner = owners[client_id]
            if owner is not None:
                names_by_owner.setdefault(owner, []).append(
                    templates.whose_day(item["person_name"], item["title"])
                )
        items = [
            (
                owner,
                {
                    "count": str(len(names)),
                    "who": templates.today_list(festivals, names),
                },
                "/api/v1/tasks/greetings",
                f"greetings-today:{owner}:{today.isoformat()}",
            )
            for owner, names in names_by_owner.items()
        ]
        if not items:
            return 0
        async with self.sessions() as session:
            made = await notifications.remind_many(
                session=session,
                clock=clock,
                template_key="greetings_today",
                items=items,
                created_by="system:reminders",
            )
            await session.commit()
        return made


def worker_hook(settings: Settings) -> AppHook:
    """Runs after the peer client hook (it borrows the pooled client)."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(settings=settings, sessions=app.state.sessions, app=app, senders=senders(settings))
        app.state.worker = worker
        loop = None
        if settings.work_interval_seconds > 0:
            loop = asyncio.create_task(_forever(worker, settings.work_interval_seconds))
        try:
            yield
        finally:
            if loop is not None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop

    return hook


async def _forever(worker: Worker, interval: float) -> None:
    """Rounds every ``interval``; setting ``work_interval_seconds`` to 0 at run time pauses them."""
    while True:
        if worker.settings.work_interval_seconds > 0:
            try:
                await worker.run_once()
            except Exception:  # the database may be briefly away; try again next round
                log.warning("tasks worker round failed", exc_info=True)
        await asyncio.sleep(interval)
