"""Access tokens that stop working before they expire: deactivation, role or team change, logout,
a revoked API key — on every path within seconds, not at the token's expiry (15 minutes).

Every app verifies tokens itself, so every app must know what was revoked. The gateway records each
revocation as a row ``(kind, subject, not_before)``: tokens of that user (``user``), sign-in session
(``session``) or API key (``api_key``) issued before ``not_before`` are refused. Every app keeps the
last ``ACCESS_TOKEN_TTL`` of them in memory, pulled every ``revocation_poll_seconds`` (1 s) — the
services over HTTP from the gateway (``GET /api/v1/auth/revocations``, an ``ops`` token of the
``revocations:read`` scope minted for the purpose), the gateway from its own table. A request pays
one dictionary lookup per subject; the pull is one small query a second, whatever the traffic.

A revocation older than an access token's lifetime can no longer match a live token, so the
lists stay short (purged as they age). If the gateway cannot be reached, an app keeps its list and
retries; readiness reports how old its list is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crmkit.auth import Principal

log = logging.getLogger("crmkit.revocations")

REVOCATIONS_SCOPE = "revocations:read"
KINDS = ("user", "session", "api_key")
SERVICE_ACCOUNT = uuid.UUID(int=0)
"""The ``sub`` of the tokens apps mint to pull revocations: no user."""
LIFETIME_SECONDS = 15 * 60 + 60
"""An access token's lifetime and a minute's margin for clocks: older revocations match nothing."""


OVERLAP_SECONDS = 60.0
"""Each pull asks again for the last minute before the newest revocation seen: a revoking
transaction that commits a little after another one's later ``not_before`` is still found (the
gateway's transactions last milliseconds; its requests time out long before a minute). Adding a
revocation twice changes nothing."""
PAGE = 1000


@dataclass(frozen=True, slots=True)
class Revocation:
    kind: str
    subject: uuid.UUID
    not_before: float


Fetch = Callable[[float], Awaitable[list[Revocation]]]
"""Revocations with ``not_before`` after the given time (Unix seconds), oldest first, at most
``PAGE`` (the gateway's table, directly or over HTTP)."""


@dataclass
class Revocations:
    """What this app knows was revoked: per kind, subject → not-before (the latest wins)."""

    seen_until: float = 0.0
    synced_at: float | None = None
    by_kind: dict[str, dict[uuid.UUID, float]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def revoked(self, principal: Principal) -> bool:
        issued = principal.issued_at
        for kind, subject in (
            ("user", principal.user_id),
            ("session", principal.session_id),
            ("api_key", principal.api_key_id),
        ):
            if subject is None:
                continue
            not_before = self.by_kind[kind].get(subject)
            if not_before is not None and issued < not_before:
                return True
        return False

    def add(self, revocations: Iterable[Revocation]) -> None:
        for revocation in revocations:
            known = self.by_kind.get(revocation.kind)
            if known is None:  # a kind this version does not know: nothing of ours can match it
                continue
            known[revocation.subject] = max(known.get(revocation.subject, 0.0), revocation.not_before)
            self.seen_until = max(self.seen_until, revocation.not_before)

    def prune(self, now: float) -> None:
        horizon = now - LIFETIME_SECONDS
        for known in self.by_kind.values():
            for subject in [s for s, not_before in known.items() if not_before < horizon]:
                del known[subject]

    async def sync(self, fetch: Fetch) -> None:
        """Pull what is new, and forget what has aged out."""
        since = self.seen_until - OVERLAP_SECONDS
        while True:
            batch = await fetch(since)
            self.add(batch)
            if len(batch) < PAGE or batch[-1].not_before <= since:
                break
            since = batch[-1].not_before
        self.synced_at = time.time()
        self.prune(self.synced_at)


def revocations_hook(fetch_for: Callable[[FastAPI], Fetch], interval_seconds: float) -> Any:
    """An app hook: ``app.state.revocations``, kept in sync by a background task (0 turns it off)."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        revocations = Revocations()
        app.state.revocations = revocations
        if interval_seconds <= 0:
            yield
            return
        fetch = fetch_for(app)
        app.state.readiness_checks["revocations"] = _freshness(revocations, interval_seconds)
        task = asyncio.create_task(_keep_in_sync(revocations, fetch, interval_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return hook


STARTUP_GRACE = 10
"""Failed pulls before the first success that are expected: the services start beside the gateway."""


async def _keep_in_sync(revocations: Revocations, fetch: Fetch, interval_seconds: float) -> None:
    failures = 0
    while True:
        try:
            await revocations.sync(fetch)
            failures = 0
        except Exception as exc:  # the gateway may be starting or briefly away: keep the list, try again
            failures += 1
            starting = revocations.synced_at is None and failures < STARTUP_GRACE
            if not starting and (failures in (1, STARTUP_GRACE) or failures % 60 == 0):
                log.warning(
                    "revocations not synced", extra={"failures": failures, "error": type(exc).__name__}
                )
        await asyncio.sleep(interval_seconds)


def _freshness(revocations: Revocations, interval_seconds: float) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def check() -> dict[str, Any]:
        if revocations.synced_at is None:
            return {"status": "not_synced", "required": False}
        age = time.time() - revocations.synced_at
        fresh = age <= max(5.0, interval_seconds * 5)
        return {"status": "ok" if fresh else "stale", "age_seconds": round(age, 1), "required": False}

    return check
