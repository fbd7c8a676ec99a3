"""Rate limits per caller on every ``/api/v1`` route (a fixed window, ``limits`` library).

The caller is the verified access token's actor, else the API key (by its hash, so no database
lookup), else the client address. Counters live in memory, or in Redis when configured so that
replicas share them. Health, metrics and docs are exempt.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Receive, Scope, Send

from crmkit.auth import decode_access_token
from crmkit.body_limit import send_problem
from crmkit.problems import ProblemError
from gateway.config import Settings
from gateway.proxy import API_PREFIX, api_key_of

log = logging.getLogger("gateway.rate_limit")
REMEMBER_SECONDS = 60.0
MAX_REMEMBERED = 10_000


@dataclass
class RateLimiter:
    """The configured limit and where its counters live."""

    item: RateLimitItem
    strategy: FixedWindowRateLimiter
    caller_of: CallerIdentifier

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        storage: Storage
        if settings.redis_url:
            storage = cast(Storage, storage_from_string("async+" + settings.redis_url.removeprefix("async+")))
        else:
            storage = MemoryStorage()
        return cls(
            item=parse(settings.rate_limit),
            strategy=FixedWindowRateLimiter(storage),
            caller_of=CallerIdentifier(settings),
        )

    async def retry_after(self, caller: str) -> int | None:
        """Count one request; ``None`` when allowed, else seconds until the window resets."""
        try:
            if await self.strategy.hit(self.item, caller):
                return None
            stats = await self.strategy.get_window_stats(self.item, caller)
        except Exception:  # a limiter outage must not take the API down with it
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))


class CallerIdentifier:
    """Who to count a request against; verified tokens are remembered briefly (verifying costs)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._actors: dict[bytes, tuple[str, float]] = {}

    def __call__(self, scope: Scope) -> str:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        key = api_key_of(headers)
        if key is not None:
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
        for name, value in headers:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                actor = self._actor(value[7:])
                if actor is not None:
                    return actor
                break
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")

    def _actor(self, token: bytes) -> str | None:
        now = time.monotonic()
        known = self._actors.get(token)
        if known is not None and known[1] > now:
            return known[0]
        try:
            actor = decode_access_token(self.settings, token.decode("latin-1")).actor
        except ProblemError:
            return None
        if len(self._actors) >= MAX_REMEMBERED:
            self._actors.clear()
        self._actors[token] = (actor, now + REMEMBER_SECONDS)
        return actor


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
        if limiter is not None:
            wait = await limiter.retry_after(limiter.caller_of(scope))
            if wait is not None:
                await send_problem(
                    send,
                    scope,
                    status=429,
                    title="Too many requests",
                    slug="rate-limited",
                    detail=f"rate limit of {limiter.item} exceeded; retry in {wait} s",
                    headers=[(b"retry-after", str(wait).encode())],
                )
                return
        await self.app(scope, receive, send)
