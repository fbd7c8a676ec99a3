"""Sign-in protection that slows guessing down without letting a stranger lock a real user out.

After OWASP's Authentication and Credential Stuffing cheat sheets ("slow down online guessing
attacks with device cookies"). Failed sign-ins are counted per *subject*, in a 15-minute window
from the subject's first failure; once a subject has used its free failures, every further
attempt must wait a delay that doubles with each failure, up to a cap (429 with Retry-After,
the password not even checked):

| subject                      | counts                          | free | delay cap |
|------------------------------|---------------------------------|------|-----------|
| the client address           | failures for any account        | 10   | 15 min    |
| the account (as typed)       | failures from any address       | 5    | 60 s      |
| a device the user signed in on | failures carrying its token   | 5    | 15 min    |

- The attacker's address is throttled hard: guessing across many accounts from one address
  soon waits 15 minutes per attempt.
- The account is slowed, never locked: an attacker spread over many addresses costs the real
  user at most a minute's wait per attempt.
- A successful sign-in answers a ``device_token``; a client that sends it back signs in past
  the address and account throttles, counted on its own. So a stranger, even one sharing the
  user's address (an office NAT), cannot deny sign-in to a user on a device they have used
  before. A brand-new device waits like anyone else.
- Unknown accounts are counted and answered exactly like known ones, so the throttle reveals
  nothing; the account is kept only as a keyed hash of the typed email.
- A success forgets the account's and the device's failures, never the address's (an attacker
  could otherwise interleave a sign-in of their own to reset it).

The counters live in ``identity.sign_in_throttles`` (one row per subject, one atomic upsert per
failure), so they hold across replicas and restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    case,
    delete,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.problems import TooManyRequests
from gateway.config import Settings
from gateway.identity.models import metadata, utcnow

WINDOW = timedelta(minutes=15)
DEVICE_MARK = "dev1"


@dataclass(frozen=True, slots=True)
class Rule:
    free: int
    cap_seconds: int


RULES: dict[str, Rule] = {
    "address": Rule(free=10, cap_seconds=900),
    "account": Rule(free=5, cap_seconds=60),
    "device": Rule(free=5, cap_seconds=900),
}

sign_in_throttles = Table(
    "sign_in_throttles",
    metadata,
    Column("subject_kind", String(8), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("wait_until", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_sign_in_throttles_expires_at", "expires_at"),
)


class SignInThrottled(TooManyRequests):
    """Too many failed sign-ins; one answer whatever the account, so nothing is revealed."""

    slug = "sign-in-throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """Whose failures this sign-in attempt counts against."""

    account_key: str
    subjects: tuple[tuple[str, str], ...]
    device_token: str | None


def source_address(request: Request) -> str:
    """The ASGI client host: the TCP peer, or what a trusted proxy named (launcher.serve)."""
    return request.client.host if request.client else "unknown"


def _key(settings: Settings) -> bytes:
    return base64.urlsafe_b64decode(settings.field_encryption_key.encode())


def _account_key(settings: Settings, email: str) -> str:
    """A keyed hash of the normalised email (typed emails of unknown accounts are not kept)."""
    return hmac.new(_key(settings), b"sign-in:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


def _device_mac(settings: Settings, account_key: str, nonce: str) -> str:
    mac = hmac.new(_key(settings), f"device:{account_key}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def new_device_token(settings: Settings, attempt: Attempt) -> str:
    """The token a client keeps after signing in, for this account only."""
    if attempt.device_token is not None:
        return attempt.device_token
    nonce = secrets.token_hex(16)
    return f"{DEVICE_MARK}.{nonce}.{_device_mac(settings, attempt.account_key, nonce)}"


def _device_nonce(settings: Settings, account_key: str, token: str | None) -> str | None:
    """The device's id when ``token`` was issued to this account; ``None`` for anything else."""
    if token is None:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != DEVICE_MARK or len(parts[1]) != 32:
        return None
    if not hmac.compare_digest(parts[2], _device_mac(settings, account_key, parts[1])):
        return None
    return parts[1]


def attempt_of(settings: Settings, *, email: str, address: str, device_token: str | None) -> Attempt:
    account_key = _account_key(settings, email)
    nonce = _device_nonce(settings, account_key, device_token)
    if nonce is not None:
        return Attempt(account_key, (("device", nonce),), device_token)
    return Attempt(account_key, (("address", address[:64]), ("account", account_key)), None)


async def check_allowed(*, session: AsyncSession, attempt: Attempt, now: datetime | None = None) -> None:
    """429 with Retry-After while any of the attempt's subjects must wait, whatever the password."""
    now = now or utcnow()
    table = sign_in_throttles
    wait_until = await session.scalar(
        select(func.max(table.c.wait_until)).where(
            tuple_(table.c.subject_kind, table.c.subject).in_(attempt.subjects)
        )
    )
    if wait_until is not None and wait_until > now:
        raise SignInThrottled(max(1, math.ceil((wait_until - now).total_seconds())))


async def record_failure(*, session: AsyncSession, attempt: Attempt, now: datetime | None = None) -> None:
    """Count one failure against each subject atomically, and set when it may try again."""
    now = now or utcnow()
    table = sign_in_throttles
    for kind, subject in attempt.subjects:
        rule = RULES[kind]
        window_open = table.c.first_failed_at > now - WINDOW
        failures = case((window_open, table.c.failures + 1), else_=1)
        first = case((window_open, table.c.first_failed_at), else_=now)
        seconds = func.least(func.power(2, failures - rule.free), rule.cap_seconds)
        delay = func.make_interval(0, 0, 0, 0, 0, 0, seconds)
        wait_until = case((failures >= rule.free, literal(now) + delay), else_=None)
        insert_row = insert(table).values(
            subject_kind=kind,
            subject=subject,
            failures=1,
            first_failed_at=now,
            wait_until=None,  # the first failure is always free
            expires_at=now + WINDOW,
        )
        await session.execute(
            insert_row.on_conflict_do_update(
                index_elements=[table.c.subject_kind, table.c.subject],
                set_={
                    "failures": failures,
                    "first_failed_at": first,
                    "wait_until": wait_until,
                    "expires_at": func.greatest(first + WINDOW, func.coalesce(wait_until, first + WINDOW)),
                },
            )
        )
    # Forgotten subjects are swept as failures come in (indexed), so the table stays small.
    await session.execute(delete(table).where(table.c.expires_at < now))


async def record_success(*, session: AsyncSession, attempt: Attempt) -> None:
    """Forget the account's and the device's failures (never the address's)."""
    table = sign_in_throttles
    forget = {("account", attempt.account_key), *((k, s) for k, s in attempt.subjects if k == "device")}
    await session.execute(delete(table).where(tuple_(table.c.subject_kind, table.c.subject).in_(forget)))
