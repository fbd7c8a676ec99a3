"""Secrets of identity: Argon2 password hashes, refresh tokens and API keys (SHA-256 at rest)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.config import Settings

API_KEY_PREFIX = "crm_"


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def password_hasher(settings: Settings) -> PasswordHasher:
    """The hasher with the configured cost parameters."""
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


async def hash_password(settings: Settings, password: str) -> str:
    """Argon2id hash, computed off the event loop (it is deliberately slow)."""
    return await asyncio.to_thread(password_hasher(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """True when the password matches; with no hash, verifies a dummy so timing stays alike."""
    hasher = password_hasher(settings)

    def verify() -> bool:
        try:
            return hasher.verify(password_hash or _dummy_hash(hasher), password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    """True when the stored hash was made with other cost parameters."""
    return password_hasher(settings).check_needs_rehash(password_hash)


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """``(key, prefix)``: ``crm_<prefix>_<secret>``, the prefix being safe to list."""
    prefix = secrets.token_hex(4)
    return f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix
