"""Routes of the tasks service: tasks, the agenda's section and marks, action plans and their
templates, notifications (feed, stream, sending), preferences, message templates, greetings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from crmkit import audit
from crmkit.clock import IsoDate
from crmkit.concurrency import set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page, page_of, read_cursor
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from crmkit.workflow import TRANSITION_RESPONSES
from services.tasks import calendar, greetings, notifications, repository, service
from services.tasks.dependencies import (
    WORKERS,
    AdminDep,
    ChangedTask,
    ClockDep,
    PeersDep,
    ReaderDep,
    SessionDep,
    ValidTask,
    WriterDep,
)
from services.tasks.errors import NotificationNotFound, TemplateNotFound
from services.tasks.intake import definitions
from services.tasks.models import (
    ActionPlan,
    AgendaMark,
    MessageTemplate,
    Notification,
    PlanTemplate,
    Preference,
    Task,
    infra_tables,
)
from services.tasks.plans import PlanDefinition
from services.tasks.schemas import (
    ActionPlanRead,
    AgendaLists,
    AgendaMarkRead,
    AgendaMarkWrite,
    GreetingList,
    GreetingRecorded,
    GreetingSent,
    Link,
    MessageTemplateRead,
    MessageTemplateWrite,
    NotificationCreate,
    NotificationPage,
    NotificationRead,
    PlanTemplateRead,
    PlanTemplateWrite,
    PreferencesRead,
    PreferencesWrite,
    StepRead,
    TaskCreate,
    TaskPage,
    TaskRead,
)
from services.tasks.templates import DEFAULTS, check_wording
from services.tasks.transitions import TaskStatus

router = APIRouter(
    prefix="/api/v1/tasks", tags=["tasks"], dependencies=[WORKERS], responses=PROBLEM_RESPONSES
)

ClientId = Annotated[uuid.UUID, Path(description="The client's id.")]
NotificationId = Annotated[uuid.UUID, Path(description="The notification's id.")]
TemplateKey = Annotated[str, Path(pattern=r"^[a-z_]{1,50}$", description="The template's key.")]


# --- tasks ---------------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_task(
    data: TaskCreate,
    principal: WriterDep,
    session: SessionDep,
    peers: PeersDep,
    clock: ClockDep,
    response: Response,
) -> TaskRead:
    """A task for yourself (agents), within your team (team leads) or for anyone (admins). Its link
    must be a record you can see (404 otherwise); it may not be due in the past."""
    task = await service.create_task(
        session=session, principal=principal, peers=peers, clock=clock, data=data
    )
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    set_etag(response, task.version)
    return service.to_read(task)


@router.get("")
async def list_tasks(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    owner_agent_id: uuid.UUID | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> TaskPage:
    """Tasks you may see (yours; your team's for team leads), soonest due first."""
    after = read_cursor(cursor, datetime, uuid.UUID)
    rows = await repository.list_tasks(
        session=session,
        principal=principal,
        status=status_.value if status_ else None,
        owner_agent_id=owner_agent_id,
        due_before=None,
        after=after,
        limit=limit,
    )
    return page_of(rows, limit, key=lambda t: (t.due_by, t.id), view=service.to_read)


@router.get("/agenda-lists")
async def agenda_lists(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    clock: ClockDep,
    day: Annotated[IsoDate | None, Query(alias="date", description="Default: today.")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AgendaLists:
    """The agenda's tasks section (your open tasks due by the day's end, overdue first) and the marks
    you set on that day (the gateway's ``GET /api/v1/agenda`` shows both)."""
    on = day or clock.today()
    rows = await repository.open_tasks_of(
        session=session,
        owner=principal.user_id,
        due_before=clock.start_of(on + timedelta(days=1)),
        limit=limit,
    )
    marks = await repository.marks_of(session=session, user_id=principal.user_id, day=on)
    return AgendaLists(
        tasks=page_of(rows, limit, key=lambda t: (t.due_by, t.id), view=service.to_read),
        marks=[
            AgendaMarkRead(
                date=m.day,
                kind=m.item_key.split(" ", 1)[0],
                path=m.item_key.split(" ", 1)[1],
                state=m.state,
                marked_at=m.marked_at,
            )
            for m in marks
        ],
    )


@router.put("/agenda-marks")
async def mark_agenda_item(
    data: AgendaMarkWrite, principal: WriterDep, session: SessionDep, clock: ClockDep
) -> AgendaMarkRead:
    """Mark an agenda entry done or snoozed for that day; the agenda shows the mark on that day only.
    Marking it again replaces the mark."""
    now = clock.now()
    key = f"{data.kind} {data.path}"
    await session.execute(
        insert(AgendaMark)
        .values(user_id=principal.user_id, day=data.date, item_key=key, state=data.state.value, marked_at=now)
        .on_conflict_do_update(
            index_elements=["user_id", "day", "item_key"], set_={"state": data.state.value, "marked_at": now}
        )
    )
    return AgendaMarkRead(date=data.date, kind=data.kind, path=data.path, state=data.state, marked_at=now)


@router.get("/{task_id:uuid}")
async def get_task(task: ValidTask, response: Response) -> TaskRead:
    set_etag(response, task.version)
    return service.to_read(task)


@router.post("/{task_id:uuid}/done", responses=TRANSITION_RESPONSES)
async def complete_task(
    task: ChangedTask, principal: WriterDep, session: SessionDep, clock: ClockDep, response: Response
) -> TaskRead:
    """``open → done``. A plan's repeating step (the weekly claim update) comes back a period later."""
    await service.close_task(
        session=session, principal=principal, clock=clock, task=task, status=TaskStatus.DONE
    )
    set_etag(response, task.version)
    return service.to_read(task)


@router.post("/{task_id:uuid}/cancel", responses=TRANSITION_RESPONSES)
async def cancel_task(
    task: ChangedTask, principal: WriterDep, session: SessionDep, clock: ClockDep, response: Response
) -> TaskRead:
    """``open → cancelled``."""
    await service.close_task(
        session=session, principal=principal, clock=clock, task=task, status=TaskStatus.CANCELLED
    )
    set_etag(response, task.version)
    return service.to_read(task)


# --- action plans --------------------------------------------------------------------------------


def _template_read(plan: PlanDefinition, *, customised: bool, version: int) -> PlanTemplateRead:
    return PlanTemplateRead(
        key=plan.key,
        name=plan.name,
        trigger=plan.trigger,
        is_active=plan.is_active,
        customised=customised,
        version=version,
        steps=[
            StepRead(
                offset_days=s.offset_days,
                title=s.title,
                priority=s.priority,
                repeat_every_days=s.repeat_every_days,
            )
            for s in plan.steps
        ],
    )


@router.get("/plan-templates")
async def list_plan_templates(principal: ReaderDep, session: SessionDep) -> list[PlanTemplateRead]:
    """Every plan template (the defaults, or an administrator's version of them)."""
    rows = {r.key: r for r in (await session.execute(select(PlanTemplate))).scalars()}
    found = await definitions(session)
    return [
        _template_read(p, customised=key in rows, version=rows[key].version if key in rows else 0)
        for key, p in sorted(found.items())
    ]


@router.put("/plan-templates/{key}")
async def put_plan_template(
    key: TemplateKey, data: PlanTemplateWrite, principal: AdminDep, session: SessionDep, clock: ClockDep
) -> PlanTemplateRead:
    """Administrators: replace a template's steps (or add a template). Offsets are days after the
    event, never negative. Plans already started keep their tasks."""
    now = clock.now()
    steps = [s.model_dump(mode="json") for s in data.steps]
    row = await session.get(PlanTemplate, key, with_for_update=True)
    before = None
    if row is None:
        row = PlanTemplate(
            key=key,
            name=data.name,
            trigger=data.trigger.value,
            steps=steps,
            is_active=data.is_active,
            version=1,
            updated_at=now,
        )
        session.add(row)
    else:
        before = {"name": row.name, "trigger": row.trigger, "steps": row.steps, "is_active": row.is_active}
        row.name, row.trigger, row.steps, row.is_active = data.name, data.trigger.value, steps, data.is_active
        row.version += 1
        row.updated_at = now
    await session.flush()
    after = {"name": row.name, "trigger": row.trigger, "steps": steps, "is_active": row.is_active}
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="plan_template.updated",
        resource_type="plan_template",
        resource_id=uuid.uuid5(uuid.NAMESPACE_URL, f"plan-template:{key}"),
        before=before,
        after=after,
    )
    found = (await definitions(session))[key]
    return _template_read(found, customised=True, version=row.version)


@router.get("/plans")
async def list_plans(
    principal: ReaderDep, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[ActionPlanRead]:
    """Action plans you may see (yours; your team's), newest first, with how many tasks are open."""
    from crmkit.scope import owner_scope

    after = read_cursor(cursor, datetime, uuid.UUID)
    stmt = select(ActionPlan).where(
        owner_scope(principal, owner=col(ActionPlan.owner_agent_id), team=col(ActionPlan.team_id))
    )
    if after is not None:
        stmt = stmt.where(tuple_(col(ActionPlan.created_at), col(ActionPlan.id)) < tuple_(*after))
    rows = list(
        (
            await session.execute(
                stmt.order_by(col(ActionPlan.created_at).desc(), col(ActionPlan.id).desc()).limit(limit + 1)
            )
        ).scalars()
    )
    counts = dict(
        (
            await session.execute(
                select(col(Task.plan_id), func.count())
                .where(col(Task.plan_id).in_([p.id for p in rows]), col(Task.status) == TaskStatus.OPEN)
                .group_by(col(Task.plan_id))
            )
        ).all()
    )
    return page_of(
        rows,
        limit,
        key=lambda p: (p.created_at, p.id),
        view=lambda p: ActionPlanRead(
            id=p.id,
            template_key=p.template_key,
            event_id=p.event_id,
            subject=Link(type=p.subject_type, id=p.subject_id),
            owner_agent_id=p.owner_agent_id,
            status=p.status,
            started_on=p.started_on,
            open_tasks=counts.get(p.id, 0),
            created_at=p.created_at,
        ),
    )


# --- notifications -------------------------------------------------------------------------------


@router.post("/notifications", status_code=status.HTTP_201_CREATED)
async def send_notification(
    data: NotificationCreate,
    principal: WriterDep,
    session: SessionDep,
    peers: PeersDep,
    clock: ClockDep,
    response: Response,
) -> NotificationRead:
    """A message from a template: to a client of yours (SMS, WeChat; with consent, 409 without; held
    21:00 to 08:00), or to a user you may see (in-app, e-mail, SMS, WeChat). Sent through the outbox."""
    n = await notifications.send(session=session, principal=principal, peers=peers, clock=clock, data=data)
    response.headers["Location"] = f"/api/v1/tasks/notifications/{n.id}"
    found = await notifications.deliveries_of(session, [n.id])
    return notifications.to_read(n, found[n.id])


@router.get("/notifications")
async def my_notifications(
    principal: ReaderDep,
    session: SessionDep,
    unread: bool | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> NotificationPage:
    """Your in-app feed, newest first."""
    after = read_cursor(cursor, datetime, uuid.UUID)
    stmt = select(Notification).where(
        col(Notification.recipient_type) == "user", col(Notification.recipient_id) == principal.user_id
    )
    if unread is not None:
        stmt = stmt.where(
            col(Notification.read_at).is_(None) if unread else col(Notification.read_at).is_not(None)
        )
    if after is not None:
        stmt = stmt.where(tuple_(col(Notification.created_at), col(Notification.id)) < tuple_(*after))
    rows = list(
        (
            await session.execute(
                stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(
                    limit + 1
                )
            )
        ).scalars()
    )
    found = await notifications.deliveries_of(session, [n.id for n in rows])
    return page_of(
        rows, limit, key=lambda n: (n.created_at, n.id), view=lambda n: notifications.to_read(n, found[n.id])
    )


async def _visible_notification(
    session: SessionDep, principal: ReaderDep, notification_id: uuid.UUID
) -> Notification:
    from crmkit.scope import owner_scope

    n = await session.scalar(
        select(Notification).where(
            col(Notification.id) == notification_id,
            (col(Notification.recipient_id) == principal.user_id)
            | owner_scope(principal, owner=col(Notification.owner_agent_id), team=col(Notification.team_id)),
        )
    )
    if n is None:
        raise NotificationNotFound()
    return n


@router.get(
    "/notifications/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-Sent Events: `event: notification` with the notification as JSON;"
            " `: ping` comments while idle.",
        }
    },
)
async def notification_stream(request: Request, principal: ReaderDep) -> StreamingResponse:
    """Your in-app notifications as they are created (Server-Sent Events), for the apps to hold open.
    Each arrives as ``event: notification`` with ``id`` and the notification as JSON ``data``; send
    the last ``id`` you had as ``Last-Event-ID`` when you reconnect to get what you missed first."""
    broker = request.app.state.broker
    sessions = request.app.state.read_sessions
    heartbeat: float = request.app.state.settings.stream_heartbeat_seconds

    last_seen = _uuid_or_none(request.headers.get("last-event-id"))

    async def missed() -> list[Notification]:
        """After a reconnect (``Last-Event-ID``): what was created since, oldest first (up to 100)."""
        if last_seen is None:
            return []
        async with sessions() as session:
            seen = await session.get(Notification, last_seen)
            if seen is None or seen.recipient_id != principal.user_id:
                return []
            stmt = (
                select(Notification)
                .where(
                    col(Notification.recipient_type) == "user",
                    col(Notification.recipient_id) == principal.user_id,
                    tuple_(col(Notification.created_at), col(Notification.id))
                    > tuple_(seen.created_at, seen.id),
                )
                .order_by(col(Notification.created_at), col(Notification.id))
                .limit(100)
            )
            return list((await session.execute(stmt)).scalars())

    async def event_of(n: Notification) -> str:
        async with sessions() as session:
            found = await notifications.deliveries_of(session, [n.id])
        body = notifications.to_read(n, found[n.id]).model_dump_json()
        return f"id: {n.id}\nevent: notification\ndata: {body}\n\n"

    async def events() -> AsyncIterator[str]:
        with broker.subscribe(principal.user_id) as queue:
            yield ": connected\n\n"
            sent: set[uuid.UUID] = set()
            for n in await missed():
                sent.add(n.id)
                yield await event_of(n)
            while True:
                try:
                    notification_id = await asyncio.wait_for(queue.get(), timeout=heartbeat)
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                if notification_id in sent:
                    continue
                async with sessions() as session:
                    n = await session.get(Notification, notification_id)
                if n is not None:
                    yield await event_of(n)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.get("/notifications/{notification_id:uuid}")
async def get_notification(
    notification_id: NotificationId, principal: ReaderDep, session: SessionDep
) -> NotificationRead:
    """One notification with its delivery log (yours, or one to a client of yours)."""
    n = await _visible_notification(session, principal, notification_id)
    found = await notifications.deliveries_of(session, [n.id])
    return notifications.to_read(n, found[n.id])


@router.post("/notifications/{notification_id:uuid}/read")
async def mark_read(
    notification_id: NotificationId, principal: WriterDep, session: SessionDep, clock: ClockDep
) -> NotificationRead:
    """Mark one of your in-app notifications read."""
    n = await session.scalar(
        select(Notification).where(
            col(Notification.id) == notification_id,
            col(Notification.recipient_id) == principal.user_id,
            col(Notification.recipient_type) == "user",
        )
    )
    if n is None:
        raise NotificationNotFound()
    if n.read_at is None:
        await session.execute(
            update(Notification).where(col(Notification.id) == n.id).values(read_at=clock.now())
        )
        await session.refresh(n)
    found = await notifications.deliveries_of(session, [n.id])
    return notifications.to_read(n, found[n.id])


# --- preferences and message templates -----------------------------------------------------------


@router.get("/preferences")
async def my_preferences(principal: ReaderDep, session: SessionDep) -> PreferencesRead:
    pref = await session.get(Preference, principal.user_id)
    if pref is None:
        return PreferencesRead(
            user_id=principal.user_id,
            channels=notifications.DEFAULT_USER_CHANNELS,
            quiet_from=None,
            quiet_until=None,
            version=0,
        )
    return PreferencesRead(
        user_id=pref.user_id,
        channels=pref.channels,
        quiet_from=pref.quiet_from,
        quiet_until=pref.quiet_until,
        version=pref.version,
    )


@router.put("/preferences")
async def put_preferences(
    data: PreferencesWrite, principal: WriterDep, session: SessionDep, clock: ClockDep
) -> PreferencesRead:
    """Where notifications to you go, and your quiet hours (e-mail, SMS and WeChat wait; in-app does not)."""
    channels = list(dict.fromkeys(c.value for c in data.channels))
    now = clock.now()
    await session.execute(
        insert(Preference)
        .values(
            user_id=principal.user_id,
            channels=channels,
            quiet_from=data.quiet_from,
            quiet_until=data.quiet_until,
            version=1,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "channels": channels,
                "quiet_from": data.quiet_from,
                "quiet_until": data.quiet_until,
                "version": Preference.version + 1,
                "updated_at": now,
            },
        )
    )
    pref = await session.get(Preference, principal.user_id, populate_existing=True)
    assert pref is not None
    return PreferencesRead(
        user_id=pref.user_id,
        channels=pref.channels,
        quiet_from=pref.quiet_from,
        quiet_until=pref.quiet_until,
        version=pref.version,
    )


@router.get("/message-templates")
async def list_message_templates(principal: ReaderDep, session: SessionDep) -> list[MessageTemplateRead]:
    out = []
    for key in sorted(DEFAULTS):
        t = await notifications.template_of(session, key)
        row = await session.get(MessageTemplate, key)
        out.append(
            MessageTemplateRead(
                key=key,
                purpose=t.purpose,
                audience=t.audience,
                subject=t.subject,
                body=t.body,
                variables=sorted(t.variables),
                customised=row is not None,
            )
        )
    return out


@router.put("/message-templates/{key}")
async def put_message_template(
    key: TemplateKey, data: MessageTemplateWrite, principal: AdminDep, session: SessionDep, clock: ClockDep
) -> MessageTemplateRead:
    """Administrators: reword a template. Only the template's own variables may appear."""
    default = DEFAULTS.get(key)
    if default is None:
        raise TemplateNotFound("message template")
    check_wording(default, subject=data.subject, body=data.body)
    now = clock.now()
    await session.execute(
        insert(MessageTemplate)
        .values(key=key, subject=data.subject, body=data.body, version=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "subject": data.subject,
                "body": data.body,
                "version": MessageTemplate.version + 1,
                "updated_at": now,
            },
        )
    )
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="message_template.updated",
        resource_type="message_template",
        resource_id=uuid.uuid5(uuid.NAMESPACE_URL, f"message-template:{key}"),
        after={"subject": data.subject, "body": data.body},
    )
    return MessageTemplateRead(
        key=key,
        purpose=default.purpose,
        audience=default.audience,
        subject=data.subject,
        body=data.body,
        variables=sorted(default.variables),
        customised=True,
    )


# --- greetings -----------------------------------------------------------------------------------


@router.get("/greetings")
async def greeting_list(
    principal: ReaderDep,
    peers: PeersDep,
    clock: ClockDep,
    day: Annotated[
        IsoDate | None,
        Query(
            alias="date",
            ge=calendar.FIRST_DAY,
            le=calendar.LAST_DAY,
            description="First day (default: today); the lunar calendar is known for 1900 to 2099.",
        ),
    ] = None,
    days: Annotated[int, Query(ge=0, le=31, description="How many days after it (default 0: that day).")] = 0,
) -> GreetingList:
    """This morning's greeting list (or a week's, with ``days=6``): your clients' birthdays and family
    milestones, and the festivals (Spring Festival, Mid-Autumn, National Day) in the window."""
    return await calendar.greeting_list(peers=peers, first=day or clock.today(), days=days)


@router.post("/greetings/{client_id}", status_code=status.HTTP_201_CREATED)
async def record_greeting(
    client_id: ClientId,
    data: GreetingSent,
    principal: WriterDep,
    session: SessionDep,
    peers: PeersDep,
    clock: ClockDep,
    response: Response,
) -> GreetingRecorded:
    """Send a greeting (SMS or WeChat, with marketing consent) or record one given by hand; either
    way it is written on the client's timeline (an interaction note), which `Location` names."""
    recorded = await greetings.record_greeting(
        session=session, principal=principal, peers=peers, clock=clock, client_id=client_id, data=data
    )
    response.headers["Location"] = f"/api/v1/clients/{client_id}/interactions/{recorded.interaction_id}"
    return recorded
