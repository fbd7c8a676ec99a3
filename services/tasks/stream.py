"""In-app notifications pushed to open Server-Sent Events streams, across replicas.

Creating an in-app notification runs ``pg_notify('tasks_notifications', '<user>:<notification>')``
in the same transaction, so PostgreSQL announces it exactly when it commits, to every replica.
Each replica holds one listening connection and hands each announcement to the streams its
users hold open; a stream then reads the notification (as the feed shows it) and writes it as an
SSE ``notification`` event. An idle stream gets a comment line every ``stream_heartbeat_seconds``
so proxies (the gateway's upstream read timeout among them) keep it open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import asyncpg
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.app import AppHook
from services.tasks.config import Settings

log = logging.getLogger("tasks.stream")
CHANNEL = "tasks_notifications"
QUEUE_SIZE = 100


async def announce(session: AsyncSession, *, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    """Delivered to the listeners when (and only if) the caller's transaction commits."""
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": f"{user_id}:{notification_id}"},
    )


async def announce_many(session: AsyncSession, pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """``announce`` for many (user, notification) pairs in one statement."""
    if pairs:
        await session.execute(
            text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
            {"channel": CHANNEL, "payloads": [f"{user}:{notification}" for user, notification in pairs]},
        )


class Broker:
    """The listening connection of this replica, and the queues of its open streams."""

    def __init__(self) -> None:
        self.queues: dict[uuid.UUID, set[asyncio.Queue[uuid.UUID]]] = defaultdict(set)

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        user, _, notification = payload.partition(":")
        try:
            user_id, notification_id = uuid.UUID(user), uuid.UUID(notification)
        except ValueError:
            return
        for queue in list(self.queues.get(user_id, ())):
            with contextlib.suppress(
                asyncio.QueueFull
            ):  # a stream that stopped reading loses pushes, not the feed
                queue.put_nowait(notification_id)

    @contextlib.contextmanager
    def subscribe(self, user_id: uuid.UUID) -> Iterator[asyncio.Queue[uuid.UUID]]:
        queue: asyncio.Queue[uuid.UUID] = asyncio.Queue(QUEUE_SIZE)
        self.queues[user_id].add(queue)
        try:
            yield queue
        finally:
            self.queues[user_id].discard(queue)
            if not self.queues[user_id]:
                del self.queues[user_id]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def broker_hook(settings: Settings) -> AppHook:
    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        broker = Broker()
        app.state.broker = broker
        # LISTEN belongs to one server session: past any transaction pooler (docs/pgbouncer.md).
        conn = await asyncpg.connect(_plain(settings.require_direct_database_url()))
        try:
            await conn.add_listener(CHANNEL, broker.on_notify)
            yield
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    return hook
