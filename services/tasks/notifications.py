"""Notifications: one model, several channels, an outbox row per channel.

Rules (issue 18):
- to a client only by SMS or WeChat, only with the consent the template's purpose needs —
  ``marketing`` for greetings, ``personal_data`` (the consent to be served with one's data) for
  service messages such as claim progress — checked over HTTP with the clients service (409
  without it, nothing stored); never with an unmasked identifier (templates.UNMASKED);
- no client message goes out between 21:00 and 08:00 business time: it is held until 08:00;
- to a user, on the channels of their preferences (in-app and e-mail by default), their own
  quiet hours holding e-mail, SMS and WeChat (in-app is never held);
- each cause of a reminder has a ``dedupe_key``: the same cause never notifies twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal, Role
from crmkit.clock import BusinessClock
from crmkit.problems import Forbidden
from services.tasks.errors import ClientNotFound, InvalidField, NoConsent, NotificationNotFound
from services.tasks.models import Delivery, MessageTemplate, Notification, Preference
from services.tasks.peers import Peers
from services.tasks.schemas import Channel, DeliveryRead, NotificationCreate, NotificationRead, Recipient
from services.tasks.stream import announce, announce_many
from services.tasks.templates import DEFAULTS, Template, render
from services.tasks.transitions import DeliveryStatus

CLIENT_QUIET_FROM = time(21, 0)
CLIENT_QUIET_UNTIL = time(8, 0)
"""No message to a client from 21:00 to 08:00 business time (issue 18)."""
CLIENT_CHANNELS = frozenset({Channel.SMS, Channel.WECHAT})
DEFAULT_USER_CHANNELS = [Channel.IN_APP.value, Channel.EMAIL.value]
CONSENT_FOR = {"marketing": "marketing", "service": "personal_data"}


async def template_of(session: AsyncSession, key: str) -> Template:
    default = DEFAULTS.get(key)
    if default is None:
        raise InvalidField("template", f"unknown template {key!r}")
    row = await session.get(MessageTemplate, key)
    if row is None:
        return default
    return Template(key, default.purpose, default.audience, row.subject, row.body, default.variables)


def release_time(local_now: datetime, quiet_from: time, quiet_until: time) -> datetime | None:
    """When a message held by quiet hours may go (``None``: not quiet now). Handles windows over midnight."""
    now_t = local_now.time()
    if quiet_from > quiet_until:
        quiet = now_t >= quiet_from or now_t < quiet_until
    else:
        quiet = quiet_from <= now_t < quiet_until
    if not quiet:
        return None
    release = local_now.replace(hour=quiet_until.hour, minute=quiet_until.minute, second=0, microsecond=0)
    if release <= local_now:
        release += timedelta(days=1)
    return release


async def preference_of(session: AsyncSession, user_id: uuid.UUID) -> Preference | None:
    return await session.get(Preference, user_id)


async def store(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    template: Template,
    recipient_type: str,
    recipient_id: uuid.UUID,
    channels: list[str],
    variables: dict[str, str],
    created_by: str,
    owner_agent_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    link_path: str | None = None,
    dedupe_key: str | None = None,
    quiet: tuple[time, time] | None = None,
) -> Notification | None:
    """The notification and its outbox rows, in the caller's transaction; ``None`` when its
    ``dedupe_key`` was already used (nothing new is stored)."""
    now = clock.now()
    subject = render(template.subject, variables)
    body = render(template.body, variables)
    notification_id = uuid.uuid4()
    inserted = await session.execute(
        insert(Notification)
        .values(
            id=notification_id,
            recipient_type=recipient_type,
            recipient_id=recipient_id,
            owner_agent_id=owner_agent_id,
            team_id=team_id,
            template=template.key,
            purpose=template.purpose,
            subject=subject,
            body=body,
            link_path=link_path,
            dedupe_key=dedupe_key,
            created_by=created_by,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Notification.id))
    )
    if inserted.scalar_one_or_none() is None:
        return None
    release = release_time(clock.local(now), *quiet) if quiet else None
    await session.execute(insert(Delivery).values(delivery_rows(notification_id, channels, now, release)))
    if Channel.IN_APP.value in channels:
        await announce(session, user_id=recipient_id, notification_id=notification_id)
    await session.flush()
    return await session.get(Notification, notification_id)


def delivery_rows(
    notification_id: uuid.UUID, channels: list[str], now: datetime, release: datetime | None
) -> list[dict[str, Any]]:
    """One outbox row per channel: in-app is delivered by being stored (and announced); the others
    wait for the sender, until ``release`` when quiet hours hold them."""
    rows = []
    for channel in dict.fromkeys(channels):
        in_app = channel == Channel.IN_APP
        held = release is not None and not in_app
        rows.append(
            {
                "id": uuid.uuid4(),
                "notification_id": notification_id,
                "channel": channel,
                "status": DeliveryStatus.SENT.value if in_app else DeliveryStatus.PENDING.value,
                "attempts": 1 if in_app else 0,
                "sent_at": now if in_app else None,
                "next_attempt_at": None if in_app else (release if held else now),
                "held_for_quiet_hours": held,
                "created_at": now,
            }
        )
    return rows


_NOTIFICATIONS: Table = Notification.__table__  # type: ignore[attr-defined]
_NEW_NOTIFICATIONS = (
    insert(_NOTIFICATIONS)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(_NOTIFICATIONS.c.id, _NOTIFICATIONS.c.recipient_id)
)
"""``remind_many``'s notifications, one set of parameters a row; the ids of those not already there."""
_DELIVERIES = insert(Delivery.__table__)  # type: ignore[attr-defined]


async def remind_many(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    template_key: str,
    items: list[tuple[uuid.UUID, dict[str, str], str, str]],
    created_by: str,
) -> int:
    """Many system reminders to agents at once — (user, variables, link path, dedupe key) each —
    on each user's channels; the reminder sweep's bulk form of ``to_user``. How many were new."""
    if not items:
        return 0
    now = clock.now()
    template = await template_of(session, template_key)
    users = {user for user, _, _, _ in items}
    prefs = {
        p.user_id: p
        for p in (
            await session.execute(select(Preference).where(col(Preference.user_id).in_(users)))
        ).scalars()
    }
    rows = [
        {
            "id": uuid.uuid4(),
            "recipient_type": "user",
            "recipient_id": user,
            "owner_agent_id": user,
            "template": template.key,
            "purpose": template.purpose,
            "subject": render(template.subject, variables),
            "body": render(template.body, variables),
            "link_path": link,
            "dedupe_key": key,
            "created_by": created_by,
            "created_at": now,
        }
        for user, variables, link, key in items
    ]
    # The rows go as executemany parameters, not ``.values(rows)``: one statement of any number of
    # rows, sent in pages (SQLAlchemy's "insertmanyvalues"), instead of a statement compiled for
    # this exact row count with a bind parameter per value, which the engine's compiled cache then
    # keeps (the reminder sweep and the work lists pass thousands of rows).
    new = (await session.execute(_NEW_NOTIFICATIONS, rows)).all()
    if not new:
        return 0
    deliveries: list[dict[str, Any]] = []
    for notification_id, user in new:
        pref = prefs.get(user)
        channels = [Channel.IN_APP.value, *(pref.channels if pref else DEFAULT_USER_CHANNELS)]
        release = None
        if pref and pref.quiet_from and pref.quiet_until:
            quiet = (time.fromisoformat(pref.quiet_from), time.fromisoformat(pref.quiet_until))
            release = release_time(clock.local(now), *quiet)
        deliveries.extend(delivery_rows(notification_id, channels, now, release))
    await session.execute(_DELIVERIES, deliveries)
    await announce_many(session, [(user, notification_id) for notification_id, user in new])
    return len(new)


async def to_user(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    template_key: str,
    user_id: uuid.UUID,
    variables: dict[str, str],
    created_by: str,
    link_path: str | None = None,
    dedupe_key: str | None = None,
    channels: list[str] | None = None,
) -> Notification | None:
    """A notification to an agent on the channels of their preferences (system reminders)."""
    template = await template_of(session, template_key)
    pref = await preference_of(session, user_id)
    chosen = channels or (pref.channels if pref else DEFAULT_USER_CHANNELS)
    quiet = None
    if pref and pref.quiet_from and pref.quiet_until:
        quiet = (time.fromisoformat(pref.quiet_from), time.fromisoformat(pref.quiet_until))
    return await store(
        session=session,
        clock=clock,
        template=template,
        recipient_type="user",
        recipient_id=user_id,
        channels=[Channel.IN_APP.value, *chosen],
        variables=variables,
        created_by=created_by,
        owner_agent_id=user_id,
        link_path=link_path,
        dedupe_key=dedupe_key,
        quiet=quiet,
    )


async def send(
    *,
    session: AsyncSession,
    principal: Principal,
    peers: Peers,
    clock: BusinessClock,
    data: NotificationCreate,
) -> Notification:
    """``POST /notifications``: a message from a template to a user the caller may see, or to a client
    of theirs with the consent it needs."""
    template = await template_of(session, data.template)
    channels = [c.value for c in data.channels]
    variables = dict(data.variables)
    me = await peers.user(principal.user_id)
    variables.setdefault("agent", str(me["full_name"]) if me else "您的保险顾问")
    if data.recipient.type == "client":
        if template.audience != "client":
            raise InvalidField("template", f"{template.key!r} is a message to an agent")
        if not set(data.channels) <= CLIENT_CHANNELS:
            raise InvalidField("channels", "a client is reached by sms or wechat")
        client = await peers.record("client", data.recipient.id)
        if client is None:
            raise ClientNotFound()
        consents = await peers.active_consents(data.recipient.id)
        if consents is None:
            raise ClientNotFound()
        if CONSENT_FOR[template.purpose] not in consents:
            raise NoConsent(template.purpose)
        variables.setdefault("name", str(client["name"]))
        stored = await store(
            session=session,
            clock=clock,
            template=template,
            recipient_type="client",
            recipient_id=data.recipient.id,
            channels=channels,
            variables=variables,
            created_by=principal.actor,
            owner_agent_id=uuid.UUID(client["owner_agent_id"]),
            team_id=uuid.UUID(client["team_id"]) if client.get("team_id") else None,
            link_path=f"/api/v1/clients/{data.recipient.id}",
            quiet=(CLIENT_QUIET_FROM, CLIENT_QUIET_UNTIL),
        )
    else:
        if template.audience != "user":
            raise InvalidField("template", f"{template.key!r} is a message to a client")
        if data.recipient.id != principal.user_id:
            if principal.role is Role.AGENT:
                raise Forbidden("an agent notifies only themselves")
            if await peers.user(data.recipient.id) is None:
                raise NotificationNotFound()
        pref = await preference_of(session, data.recipient.id)
        quiet = None
        if pref and pref.quiet_from and pref.quiet_until:
            quiet = (time.fromisoformat(pref.quiet_from), time.fromisoformat(pref.quiet_until))
        stored = await store(
            session=session,
            clock=clock,
            template=template,
            recipient_type="user",
            recipient_id=data.recipient.id,
            channels=channels,
            variables=variables,
            created_by=principal.actor,
            owner_agent_id=data.recipient.id,
            quiet=quiet,
        )
    assert stored is not None
    return stored


async def deliveries_of(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Delivery]]:
    rows = (
        await session.execute(
            select(Delivery).where(col(Delivery.notification_id).in_(ids)).order_by(col(Delivery.channel))
        )
    ).scalars()
    found: dict[uuid.UUID, list[Delivery]] = {i: [] for i in ids}
    for row in rows:
        found[row.notification_id].append(row)
    return found


def to_read(n: Notification, deliveries: list[Delivery]) -> NotificationRead:
    return NotificationRead(
        id=n.id,
        recipient=Recipient(type=n.recipient_type, id=n.recipient_id),
        template=n.template,
        subject=n.subject,
        body=n.body,
        link_path=n.link_path,
        created_at=n.created_at,
        read_at=n.read_at,
        deliveries=[
            DeliveryRead(
                channel=d.channel,
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                sent_at=d.sent_at,
                last_error=d.last_error,
                held_for_quiet_hours=d.held_for_quiet_hours,
            )
            for d in deliveries
        ],
    )


def as_event_data(read: NotificationRead) -> dict[str, Any]:
    return read.model_dump(mode="json")
