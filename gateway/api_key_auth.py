"""API keys at the edge: look the key up by SHA-256 and mint a short-lived access token for it.

Positive lookups are cached briefly (``CACHE_SECONDS``); a key revoked through this gateway is
forgotten at once, one revoked through another replica stops working within the TTL.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.auth import Role, issue_access_token
from gateway.config import Settings
from gateway.identity.errors import InvalidApiKey
from gateway.identity.models import ApiKey, User, utcnow
from gateway.identity.tokens import API_KEY_PREFIX, sha256_hex

CACHE_SECONDS = 30.0
TOUCH_EVERY_SECONDS = 60.0
TOKEN_TTL = timedelta(minutes=5)
MAX_CACHED = 10_000


@dataclass
class _Resolved:
    api_key_id: uuid.UUID
    authorization: bytes
    cached_until: float
    touched_at: float


class ApiKeyResolver:
    """Turns ``crm_...`` keys into ``Bearer <jwt>`` for the key's user, with the key's scopes."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._cache: dict[str, _Resolved] = {}

    def forget(self, api_key_id: uuid.UUID) -> None:
        """Drop a revoked key from the cache."""
        for digest, resolved in list(self._cache.items()):
            if resolved.api_key_id == api_key_id:
                del self._cache[digest]

    def cached_actor(self, key: str) -> str | None:
        """The key's actor (``api_key:<id>``) when it is in the cache as valid; no lookup."""
        resolved = self._cache.get(sha256_hex(key)) if key.startswith(API_KEY_PREFIX) else None
        if resolved is None or resolved.cached_until <= time.monotonic():
            return None
        return f"api_key:{resolved.api_key_id}"

    async def verified_actor(self, key: str) -> str | None:
        """The key's actor after a lookup (cached for the proxy's use), or ``None`` for a key that
        is unknown, revoked or malformed."""
        try:
            await self.authorization_for(key)
        except InvalidApiKey:
            return None
        return self.cached_actor(key)

    async def authorization_for(self, key: str) -> bytes:
        """The ``Authorization`` header value to forward; 401 for unknown or revoked keys."""
        if not key.startswith(API_KEY_PREFIX) or len(key) > 200:
            raise InvalidApiKey("invalid API key")
        digest = sha256_hex(key)
        now = time.monotonic()
        resolved = self._cache.get(digest)
        if resolved is None or resolved.cached_until <= now:
            resolved = await self._load(digest, now)
        elif now - resolved.touched_at >= TOUCH_EVERY_SECONDS:
            await self._touch(resolved.api_key_id)
            resolved.touched_at = now
        return resolved.authorization

    async def _load(self, digest: str, now: float) -> _Resolved:
        self._cache.pop(digest, None)
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(
                        col(ApiKey.id),
                        col(ApiKey.scopes),
                        col(User.id),
                        col(User.role),
                        col(User.team_id),
                        col(User.location),
                    )
                    .join(User, col(User.id) == col(ApiKey.user_id))
                    .where(
                        col(ApiKey.key_hash) == digest,
                        col(ApiKey.revoked_at).is_(None),
                        col(User.is_active).is_(True),
                    )
                )
            ).one_or_none()
            if row is None:
                raise InvalidApiKey("unknown or revoked API key")
            key_id, scopes, user_id, role, team_id, location = row
            await self._touch(key_id, session=session)
        token = issue_access_token(
            self.settings,
            user_id=user_id,
            role=Role(role),
            team_id=team_id,
            scopes=frozenset(scopes),
            api_key_id=key_id,
            location=location,
            ttl=TOKEN_TTL,
        )
        # The token outlives the cache entry by minutes, so a cached one is never stale.
        resolved = _Resolved(key_id, f"Bearer {token}".encode(), now + CACHE_SECONDS, now)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = resolved
        return resolved

    async def _touch(self, api_key_id: uuid.UUID, *, session: AsyncSession | None = None) -> None:
        """Record use, at most about once a minute per key."""
        stale = utcnow() - timedelta(seconds=TOUCH_EVERY_SECONDS)
        statement = (
            update(ApiKey)
            .where(
                col(ApiKey.id) == api_key_id,
                col(ApiKey.last_used_at).is_(None) | (col(ApiKey.last_used_at) < stale),
            )
            .values(last_used_at=utcnow())
        )
        if session is not None:
            await session.execute(statement)
            await session.commit()
            return
        async with self.sessions() as own, own.begin():
            await own.execute(statement)
