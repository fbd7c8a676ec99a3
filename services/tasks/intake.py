"""The event intake: read the services' event streams (the mechanism the gateway's webhook
dispatcher uses, docs/events-and-sync.md) and start or close action plans.

Per service, under a transaction-level advisory lock (a replica that finds it taken skips that
service this round), the intake reads ``/api/v1/<service>/events`` after its stored cursor with
a token of its own, handles each event, and stores the new cursor in the same transaction. A
plan is keyed by the event id (``uq_action_plans_event_id``), so an event read twice — a replay,
a cursor reset, two replicas — starts nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit import audit
from crmkit.auth import Principal, Role
from crmkit.clock import BusinessClock
from services.tasks import notifications
from services.tasks.models import ActionPlan, EventCursor, PlanTemplate, Task, infra_tables
from services.tasks.peers import SERVICE_USER, Peers
from services.tasks.plans import (
    CLAIM_CLOSED_STATUSES,
    DEFAULT_PLANS,
    SUBJECT_OF_TRIGGER,
    PlanDefinition,
    steps_of,
)
from services.tasks.service import due_by, to_read
from services.tasks.transitions import PlanStatus, TaskStatus

log = logging.getLogger("tasks.intake")
SERVICES = ("clients", "policies", "claims")
EVENTS_PAGE = 200
MAX_PAGES = 10
SERVICE_PRINCIPAL = Principal(user_id=SERVICE_USER, role=Role.ADMIN, team_id=None)


async def definitions(session: AsyncSession) -> dict[str, PlanDefinition]:
    """The defaults, with an administrator's versions in their place."""
    found = dict(DEFAULT_PLANS)
    for row in (await session.execute(select(PlanTemplate))).scalars():
        found[row.key] = PlanDefinition(row.key, row.name, row.trigger, steps_of(row.steps), row.is_active)
    return found


async def pull(*, sessions: async_sessionmaker[AsyncSession], peers: Peers, clock: BusinessClock) -> int:
    """Every service's new events; returns how many plans were started."""
    started = 0
    for service in SERVICES:
        try:
            started += await pull_one(sessions=sessions, peers=peers, clock=clock, service=service)
        except Exception as exc:  # a service is away: its cursor stays, next round reads on
            log.warning("event intake failed", extra={"service": service, "error": type(exc).__name__})
    return started


async def pull_one(
    *, sessions: async_sessionmaker[AsyncSession], peers: Peers, clock: BusinessClock, service: str
) -> int:
    started = 0
    for _ in range(MAX_PAGES):
        async with sessions() as session:
            locked = await session.scalar(
                select(func.pg_try_advisory_xact_lock(func.hashtext(f"crm.tasks.intake.{service}")))
            )
            if not locked:
                return started
            cursor = await session.scalar(
                select(col(EventCursor.cursor)).where(col(EventCursor.service) == service)
            )
            page = await peers.events(service, cursor, EVENTS_PAGE)
            plans = await definitions(session)
            for event in page["items"]:
                started += await handle(session=session, peers=peers, clock=clock, plans=plans, event=event)
            await session.execute(
                insert(EventCursor)
                .values(service=service, cursor=page["next_cursor"], updated_at=clock.now())
                .on_conflict_do_update(
                    index_elements=["service"],
                    set_={"cursor": page["next_cursor"], "updated_at": clock.now()},
                )
            )
            await session.commit()
        if not page["has_more"]:
            break
    return started


async def handle(
    *,
    session: AsyncSession,
    peers: Peers,
    clock: BusinessClock,
    plans: dict[str, PlanDefinition],
    event: dict[str, Any],
) -> int:
    kind = event["type"]
    resource = event["resource"]
    data = resource.get("data") or {}
    if kind == "claim.status_changed" and data.get("status") in CLAIM_CLOSED_STATUSES:
        await close_plans(
            session=session, clock=clock, subject_type="claim", subject_id=uuid.UUID(resource["id"])
        )
        return 0
    started = 0
    for plan in plans.values():
        if plan.trigger != kind or not plan.is_active:
            continue
        subject_type = SUBJECT_OF_TRIGGER[kind]
        record = await peers.record(subject_type, uuid.UUID(resource["id"]))
        if record is None:
            continue
        if kind == "client.tier_changed" and (
            record.get("tier") != "A" or await _has_plan(session, plan.key, record["id"])
        ):
            continue
        started += await start_plan(
            session=session, clock=clock, plan=plan, event=event, subject_type=subject_type, record=record
        )
    return started


async def _has_plan(session: AsyncSession, key: str, subject_id: str) -> bool:
    found = await session.scalar(
        select(func.count()).where(
            col(ActionPlan.template_key) == key,
            col(ActionPlan.subject_id) == uuid.UUID(subject_id),
            col(ActionPlan.status) == PlanStatus.IN_PROGRESS,
        )
    )
    return bool(found)


async def start_plan(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    plan: PlanDefinition,
    event: dict[str, Any],
    subject_type: str,
    record: dict[str, Any],
) -> int:
    """The plan and its dated tasks, once per event id; 0 when the event had already started it."""
    now = clock.now()
    started_on: date = clock.business_day(datetime.fromisoformat(event["occurred_at"]))
    owner = uuid.UUID(record["owner_agent_id"])
    team = uuid.UUID(record["team_id"]) if record.get("team_id") else None
    plan_id = uuid.uuid4()
    inserted = await session.execute(
        insert(ActionPlan)
        .values(
            id=plan_id,
            template_key=plan.key,
            event_id=event["id"],
            subject_type=subject_type,
            subject_id=uuid.UUID(record["id"]),
            owner_agent_id=owner,
            team_id=team,
            status=PlanStatus.IN_PROGRESS.value,
            started_on=started_on,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(col(ActionPlan.id))
    )
    if inserted.scalar_one_or_none() is None:
        return 0
    tasks = []
    for number, step in enumerate(plan.steps, start=1):
        due_on = started_on + timedelta(days=step.offset_days)
        task = Task(
            title=step.title,
            owner_agent_id=owner,
            team_id=team,
            created_by=SERVICE_USER,
            due_on=due_on,
            due_by=due_by(clock=clock, due_on=due_on, due_at=None),
            priority=step.priority,
            status=TaskStatus.OPEN.value,
            link_type=subject_type,
            link_id=uuid.UUID(record["id"]),
            plan_id=plan_id,
            plan_step=number,
            repeat_every_days=step.repeat_every_days,
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        tasks.append(task)
    await session.flush()
    for task in tasks:
        await audit.record(
            session,
            infra_tables.audit_log,
            principal=SERVICE_PRINCIPAL,
            action="task.created",
            resource_type="task",
            resource_id=task.id,
            after=to_read(task).model_dump(mode="json"),
        )
    first = min(tasks, key=lambda t: t.due_by)
    await notifications.to_user(
        session=session,
        clock=clock,
        template_key="plan_started",
        user_id=owner,
        variables={
            "plan": plan.name,
            "steps": str(len(tasks)),
            "first_step": first.title,
            "first_due": (first.due_on or started_on).isoformat(),
        },
        created_by="system:plans",
        link_path=f"/api/v1/tasks/plans/{plan_id}",
        dedupe_key=f"plan:{event['id']}",
    )
    return 1


async def close_plans(
    *, session: AsyncSession, clock: BusinessClock, subject_type: str, subject_id: uuid.UUID
) -> None:
    """The subject's story ended (a claim closed): its plans complete, their open tasks are cancelled."""
    now = clock.now()
    ids = list(
        (
            await session.execute(
                update(ActionPlan)
                .where(
                    col(ActionPlan.subject_type) == subject_type,
                    col(ActionPlan.subject_id) == subject_id,
                    col(ActionPlan.status) == PlanStatus.IN_PROGRESS,
                )
                .values(status=PlanStatus.COMPLETED.value, closed_at=now)
                .returning(col(ActionPlan.id))
            )
        ).scalars()
    )
    if ids:
        await session.execute(
            update(Task)
            .where(col(Task.plan_id).in_(ids), col(Task.status) == TaskStatus.OPEN)
            .values(
                status=TaskStatus.CANCELLED.value, closed_at=now, updated_at=now, version=Task.version + 1
            )
        )
