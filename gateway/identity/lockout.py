"""Login protection: after 5 failed sign-ins within 15 minutes, the pair waits 15 minutes.

The pair is (account, source address): the same account from another address is not locked, so
nobody can lock a real user out from everywhere. The account is the typed email, keyed-hashed,
looked up before (and independently of) whether such a user exists: an unknown email is counted
and locked exactly like a known one, with the same answer, so the lockout reveals nothing.

The counters live in ``identity.sign_in_failures`` (one row per pair), so they hold across
replicas and restarts. The window is fixed from the pair's first failure: simpler and atomic
(one upsert) where a sliding window would need a row per attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import Column, DateTime, Index, Integer, String, Table, case, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.problems import TooManyRequests
from gateway.config import Settings
from gateway.identity.models import metadata, utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("account_key", String(64), primary_key=True),
    Column("source_address", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_sign_in_failures_expires_at", "expires_at"),
)


class SignInLocked(TooManyRequests):
    """Too many failed sign-ins for this account from this address; one answer for every account."""

    slug = "sign-in-locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True, slots=True)
class SignInPair:
    """Whose attempts are counted together: the account as typed, and the caller's address."""

    account_key: str
    source_address: str


def source_address(request: Request) -> str:
    """The ASGI client host, as the rate limiter counts it (forwarded headers are not trusted)."""
    return request.client.host if request.client else "unknown"


def sign_in_pair(settings: Settings, *, email: str, address: str) -> SignInPair:
    """A keyed hash of the normalised email (typed emails of unknown accounts are not kept)."""
    key = base64.urlsafe_b64decode(settings.field_encryption_key.encode())
    digest = hmac.new(key, b"sign-in:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return SignInPair(account_key=digest, source_address=address[:64])


async def check_not_locked(*, session: AsyncSession, pair: SignInPair, now: datetime | None = None) -> None:
    """429 with Retry-After while the pair is locked, whatever the password."""
    now = now or utcnow()
    locked_until = await session.scalar(
        select(sign_in_failures.c.locked_until).where(
            sign_in_failures.c.account_key == pair.account_key,
            sign_in_failures.c.source_address == pair.source_address,
        )
    )
    if locked_until is not None and locked_until > now:
        raise SignInLocked(max(1, math.ceil((locked_until - now).total_seconds())))


async def record_failure(*, session: AsyncSession, pair: SignInPair, now: datetime | None = None) -> None:
    """Count one failure atomically; the fifth within the window starts the lockout."""
    now = now or utcnow()
    table = sign_in_failures
    window_open = table.c.first_failed_at > now - WINDOW
    stmt = insert(table).values(
        account_key=pair.account_key,
        source_address=pair.source_address,
        failures=1,
        first_failed_at=now,
        locked_until=None,
        expires_at=now + WINDOW,
    )
    # a new window starts when the old one has passed
    new_failures = case((window_open, table.c.failures + 1), else_=1)
    new_first = case((window_open, table.c.first_failed_at), else_=now)
    locks = new_failures >= MAX_FAILURES
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.account_key, table.c.source_address],
        set_={
            "failures": new_failures,
            "first_failed_at": new_first,
            "locked_until": case((locks, now + LOCKOUT), else_=None),
            "expires_at": case((locks, now + LOCKOUT), else_=new_first + WINDOW),
        },
    )
    await session.execute(stmt)
    # Forgotten pairs are swept as failures come in (indexed), so the table stays small.
    await session.execute(delete(table).where(table.c.expires_at < now - WINDOW))


async def clear_failures(*, session: AsyncSession, pair: SignInPair) -> None:
    """A successful sign-in forgets the pair's failures."""
    await session.execute(
        delete(sign_in_failures).where(
            sign_in_failures.c.account_key == pair.account_key,
            sign_in_failures.c.source_address == pair.source_address,
        )
    )
