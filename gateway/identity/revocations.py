"""The gateway's record of revoked tokens, which every app pulls (crmkit/revocations.py).

A row says: tokens of this user, sign-in session or API key issued before ``not_before`` are no
longer valid. Written in the same transaction as the change that causes it (deactivation, role or
team change, logout, refresh-token reuse, API key revocation), so a revocation exists exactly when
its change committed. Rows older than an access token's lifetime match nothing and are swept.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    String,
    Table,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.revocations import LIFETIME_SECONDS, PAGE, Fetch, Revocation
from gateway.identity.models import metadata, utcnow

revocations = Table(
    "revocations",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),  # a key; reads go by not_before
    Column("kind", String(8), nullable=False),
    Column("subject", UUID(as_uuid=True), nullable=False),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Index("ix_revocations_not_before", "not_before"),
    CheckConstraint("kind IN ('user', 'session', 'api_key')", name="ck_revocations_kind"),
)


class RevocationRead(BaseModel):
    kind: str = Field(description="`user`, `session` or `api_key`.")
    subject: uuid.UUID
    not_before: datetime = Field(description="Tokens of the subject issued before this are refused.")


class RevocationPage(BaseModel):
    items: list[RevocationRead]


async def revoke(*, session: AsyncSession, kind: str, subject: uuid.UUID) -> None:
    """From now on, the subject's older tokens are refused everywhere (once this commits)."""
    now = utcnow()
    event.listen(session.sync_session, "after_commit", FeedAnswers.forget_all, once=True)
    await session.execute(insert(revocations).values(kind=kind, subject=subject, not_before=now))
    await session.execute(
        delete(revocations).where(revocations.c.not_before < now - timedelta(seconds=LIFETIME_SECONDS))
    )


async def list_since(*, session: AsyncSession, since: float) -> list[RevocationRead]:
    """Revocations after ``since`` (Unix seconds) still young enough to match a live token, oldest
    first, at most ``PAGE``."""
    horizon = max(utcnow() - timedelta(seconds=LIFETIME_SECONDS), datetime.fromtimestamp(since, UTC))
    rows = await session.execute(
        select(revocations.c.kind, revocations.c.subject, revocations.c.not_before)
        .where(revocations.c.not_before > horizon)
        .order_by(revocations.c.not_before)
        .limit(PAGE)
    )
    return [RevocationRead.model_validate(row, from_attributes=True) for row in rows]


FEED_ANSWER_SECONDS = 1.0
"""How long an encoded answer of the feed is reused (the services' poll interval)."""


class FeedAnswers:
    """The feed's encoded answers per ``since``, reused for ``FEED_ANSWER_SECONDS``: every service
    asks the same question each second (its ``since`` is the newest revocation seen, less a minute),
    so one query and one encoding serve all of them. A revocation this process commits drops every
    answer at once; one committed by another gateway replica shows within ``FEED_ANSWER_SECONDS``,
    well inside the 5 seconds revocations are given to reach every app."""

    generation: ClassVar[int] = 0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._answers: dict[float, tuple[float, int, bytes]] = {}

    @classmethod
    def forget_all(cls, *_: object) -> None:
        cls.generation += 1

    async def answer(self, since: float, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        now = self.clock()
        known = self._answers.get(since)
        if known is not None and known[0] > now and known[1] == FeedAnswers.generation:
            return known[2]
        generation = FeedAnswers.generation
        body = await compute()
        if len(self._answers) >= 64:
            self._answers.clear()
        self._answers[since] = (now + FEED_ANSWER_SECONDS, generation, body)
        return body


def local_revocations(app: FastAPI) -> Fetch:
    """The gateway reads its own table."""
    sessions: async_sessionmaker[AsyncSession] = app.state.read_sessions

    async def fetch(since: float) -> list[Revocation]:
        async with sessions() as session:
            rows = await list_since(session=session, since=since)
        return [Revocation(r.kind, r.subject, r.not_before.timestamp()) for r in rows]

    return fetch
