"""Sending the outbox: claim due deliveries, send them, record the outcome (the delivery log).

Two replicas cooperate through the database as the gateway's webhook dispatcher does: due rows
are claimed with ``FOR UPDATE SKIP LOCKED`` and moved to ``sending`` (with a lease) in a short
transaction, sent outside any transaction, and their outcome written afterwards. A row is
claimed by one replica only, so it is sent at most once; a row still ``sending`` after its lease
(the replica stopped mid-send, outcome unknown) is marked failed rather than sent a second time.
Failures are retried after 1, 2, 5, 15 and 40 minutes, then ``failed``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.tasks.channels import Message, Sender
from services.tasks.models import Delivery, Notification
from services.tasks.peers import Peers
from services.tasks.transitions import DeliveryStatus

RETRY_AFTER_SECONDS = (60, 120, 300, 900, 2400)
CLAIM_BATCH = 100
LEASE = timedelta(minutes=2)


def retry_delay(attempts: int) -> timedelta | None:
    if attempts > len(RETRY_AFTER_SECONDS):
        return None
    return timedelta(seconds=RETRY_AFTER_SECONDS[attempts - 1])


@dataclass
class Claimed:
    delivery_id: uuid.UUID
    channel: str
    attempts: int
    notification: Notification


async def claim(sessions: async_sessionmaker[AsyncSession], moment: datetime, batch: int) -> list[Claimed]:
    async with sessions() as session:
        # Abandoned mid-send: the outcome is unknown, so never send again (at most once).
        await session.execute(
            update(Delivery)
            .where(col(Delivery.status) == DeliveryStatus.SENDING, col(Delivery.next_attempt_at) <= moment)
            .values(
                status=DeliveryStatus.FAILED.value,
                next_attempt_at=None,
                last_error="outcome unknown: the sender stopped mid-send; not sent again",
            )
        )
        due = (
            select(Delivery, Notification)
            .join(Notification, col(Notification.id) == col(Delivery.notification_id))
            .where(col(Delivery.status) == DeliveryStatus.PENDING, col(Delivery.next_attempt_at) <= moment)
            .order_by(col(Delivery.next_attempt_at))
            .limit(batch)
            .with_for_update(of=Delivery, skip_locked=True)
        )
        rows = (await session.execute(due)).all()
        if not rows:
            await session.commit()
            return []
        ids = [d.id for d, _ in rows]
        await session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .values(
                status=DeliveryStatus.SENDING.value,
                next_attempt_at=moment + LEASE,
                last_attempt_at=moment,
                attempts=Delivery.attempts + 1,
            )
        )
        await session.commit()
    return [Claimed(d.id, d.channel, d.attempts + 1, n) for d, n in rows]


async def address_of(item: Claimed, peers: Peers, cache: dict[uuid.UUID, str | None]) -> str | None:
    """An agent's e-mail from the user directory (as it is now); a client by reference, which a real
    SMS or WeChat adapter resolves (the CRM never puts an unmasked number in a message or a log)."""
    n = item.notification
    if n.recipient_type == "client":
        return f"client:{n.recipient_id}"
    if item.channel != "email":
        return f"user:{n.recipient_id}"
    if n.recipient_id not in cache:
        user = await peers.user(n.recipient_id)
        cache[n.recipient_id] = str(user["email"]) if user and user.get("is_active") else None
    return cache[n.recipient_id]


async def send_due(
    *,
    sessions: async_sessionmaker[AsyncSession],
    peers: Peers,
    senders: dict[str, Sender],
    moment: datetime,
    batch: int = CLAIM_BATCH,
) -> tuple[int, int]:
    """One round: (attempted, sent)."""
    claimed = await claim(sessions, moment, batch)
    if not claimed:
        return 0, 0
    cache: dict[uuid.UUID, str | None] = {}
    outcomes: list[tuple[str | None, str | None]] = [(None, None)] * len(claimed)
    by_channel: dict[str, list[int]] = {}
    for index, item in enumerate(claimed):
        try:
            to = await address_of(item, peers, cache)
        except Exception as exc:  # the directory is away: retry later
            outcomes[index] = (None, f"address lookup failed: {type(exc).__name__}")
            continue
        if to is None:
            outcomes[index] = (None, "no address for the recipient")
            continue
        outcomes[index] = (to, None)
        by_channel.setdefault(item.channel, []).append(index)

    async def channel_round(channel: str, indexes: list[int]) -> None:
        messages = [
            Message(
                to=outcomes[i][0] or "",
                subject=claimed[i].notification.subject,
                body=claimed[i].notification.body,
                notification_id=claimed[i].notification.id,
            )
            for i in indexes
        ]
        errors = await senders[channel].send_many(messages)
        for i, error in zip(indexes, errors, strict=True):
            outcomes[i] = (outcomes[i][0], error)

    await asyncio.gather(*(channel_round(c, ix) for c, ix in by_channel.items()))
    sent = 0
    async with sessions() as session:
        for item, (to, error) in zip(claimed, outcomes, strict=True):
            values: dict[str, object] = {"address": to, "last_error": error}
            if error is None:
                values.update(status=DeliveryStatus.SENT.value, sent_at=moment, next_attempt_at=None)
                sent += 1
            else:
                delay = retry_delay(item.attempts)
                if delay is None:
                    values.update(status=DeliveryStatus.FAILED.value, next_attempt_at=None)
                else:
                    values.update(status=DeliveryStatus.PENDING.value, next_attempt_at=moment + delay)
            await session.execute(
                update(Delivery)
                .where(col(Delivery.id) == item.delivery_id, col(Delivery.status) == DeliveryStatus.SENDING)
                .values(**values)
            )
        await session.commit()
    return len(claimed), sent
