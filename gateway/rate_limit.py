"""Rate limits on every ``/api/v1`` route (a fixed window, ``limits`` library).

A request counts against every *verified* principal it carries: the access token's actor (its
signature and expiry checked; verified tokens are remembered for a minute) and the API key's (looked
up by its hash through the gateway's key cache). A header that verifies as nothing counts for
nothing: a random ``X-API-Key`` per request does not make a new caller. A request with no verified
principal is anonymous and counts against its client address, under a tighter limit; an API key
not yet in the cache is first counted there too, so random keys cannot make the gateway look
each one up unthrottled. Counters live in memory, or in Redis when ``CRM_REDIS_URL`` is set, so
that every gateway replica counts the same caller in the same window. Health, metrics and docs
are exempt. Every 429 says when to retry (``Retry-After``).
"""

from __future__ import annotations

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

from crmkit.auth import SWEEP_FLOOR, decode_access_token, swept
from crmkit.body_limit import send_problem
from crmkit.problems import ProblemError, TooManyRequests
from gateway.api_key_auth import ApiKeyResolver
from gateway.config import Settings
from gateway.proxy import API_PREFIX, api_key_of

log = logging.getLogger("gateway.rate_limit")
REMEMBER_SECONDS = 60.0
MAX_REMEMBERED = 10_000


@dataclass
class RateLimiter:
    """The configured limits and where their counters live."""

    item: RateLimitItem
    anonymous_item: RateLimitItem
    strategy: FixedWindowRateLimiter
    tokens: TokenActors

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        storage: Storage
        if settings.redis_url:
            uri = "async+" + settings.redis_url.removeprefix("async+")
            storage = cast(Storage, storage_from_string(uri, key_prefix=settings.rate_limit_key_prefix))
        else:
            storage = MemoryStorage()
        return cls(
            item=parse(settings.rate_limit),
            anonymous_item=parse(settings.rate_limit_anonymous),
            strategy=FixedWindowRateLimiter(storage),
            tokens=TokenActors(settings),
        )

    async def retry_after(self, item: RateLimitItem, caller: str) -> int | None:
        """Count one request; ``None`` when allowed, else seconds until the window resets."""
        try:
            if await self.strategy.hit(item, caller):
                return None
            stats = await self.strategy.get_window_stats(item, caller)
        except Exception:  # a limiter outage must not take the API down with it
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def refusal(self, scope: Scope, resolver: ApiKeyResolver) -> tuple[RateLimitItem, int] | None:
        """The limit this request is over and the seconds to wait, or ``None`` when it may pass."""
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        counted: list[tuple[RateLimitItem, str]] = []
        actor = self.tokens.actor_of(headers)
        if actor is not None:
            counted.append((self.item, actor))
        key = api_key_of(headers)
        if key is not None:
            key_actor = resolver.cached_actor(key)
            if key_actor is None:
                if actor is None:
                    # Not known yet: counted as anonymous before the lookup, so random keys are throttled.
                    wait = await self.retry_after(self.anonymous_item, _address(scope))
                    if wait is not None:
                        return self.anonymous_item, wait
                key_actor = await resolver.verified_actor(key)
            if key_actor is not None:
                counted.append((self.item, key_actor))
            elif actor is None:
                return None  # anonymous, already counted
        if not counted:
            counted.append((self.anonymous_item, _address(scope)))
        for item, caller in counted:
            wait = await self.retry_after(item, caller)
            if wait is not None:
                return item, wait
        return None


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class TokenActors:
    """The actor of a verified bearer token; verified tokens are remembered briefly (verifying costs).
    Those not seen for ``REMEMBER_SECONDS`` are swept as it grows, as in ``crmkit.auth.VerifiedTokens``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._actors: dict[bytes, tuple[str, float]] = {}
        self._sweep_at = SWEEP_FLOOR

    def actor_of(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        for name, value in headers:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return self._actor(value[7:])
        return None

    def _actor(self, token: bytes) -> str | None:
        now = time.monotonic()
        known = self._actors.get(token)
        if known is not None and known[1] > now:
            return known[0]
        try:
            principal = decode_access_token(self.settings, token.decode("latin-1"))
        except ProblemError:
            return None
        if len(self._actors) >= self._sweep_at:
            self._actors, self._sweep_at = swept(self._actors, _expiry_of_actor, now, MAX_REMEMBERED)
        self._actors[token] = (principal.actor, now + REMEMBER_SECONDS)
        return principal.actor


def _expiry_of_actor(entry: tuple[str, float]) -> float:
    return entry[1]


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
            refused = await limiter.refusal(scope, state.api_key_resolver)
            if refused is not None:
                item, wait = refused
                await send_problem(
                    send,
                    scope,
                    status=429,
                    title="Too many requests",
                    slug=TooManyRequests.slug,
                    detail=f"rate limit of {item} exceeded; retry in {wait} s",
                    headers=[(b"retry-after", str(wait).encode())],
                )
                return
        await self.app(scope, receive, send)
