"""Integrators' API keys: issue (shown once), list, revoke. Flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.audit import record
from crmkit.auth import Principal
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import FieldError
from gateway.identity import revocations
from gateway.identity.errors import ApiKeyNotFound, InvalidAssignment
from gateway.identity.models import ApiKey, User, infra_tables, utcnow
from gateway.identity.schemas import ApiKeyRead
from gateway.identity.tokens import new_api_key, sha256_hex


async def create_api_key(
    *, session: AsyncSession, name: str, user_id: uuid.UUID, scopes: Sequence[str], actor: Principal
) -> tuple[ApiKey, str]:
    """Issue a key acting as an active user with the given scopes; returns the row and the key."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidAssignment(
            "no such active user", errors=[FieldError(field="user_id", message="no active user with this id")]
        )
    key, prefix = new_api_key()
    api_key = ApiKey(name=name, prefix=prefix, key_hash=sha256_hex(key), user_id=user_id, scopes=list(scopes))
    session.add(api_key)
    await session.flush()
    await record(
        session,
        infra_tables.audit_log,
        principal=actor,
        action="api_key.created",
        resource_type="api_key",
        resource_id=api_key.id,
        after=ApiKeyRead.model_validate(api_key).model_dump(mode="json"),
    )
    return api_key, key


async def list_api_keys(
    *, session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[ApiKey], str | None]:
    """Keys (never the key itself), one page at a time."""
    after = decode_cursor(cursor, arity=1)
    query = select(ApiKey).order_by(col(ApiKey.id)).limit(limit + 1)
    if after is not None:
        try:
            query = query.where(col(ApiKey.id) > uuid.UUID(str(after[0])))
        except ValueError:
            query = query.where(col(ApiKey.id).is_(None))
    keys = list((await session.scalars(query)).all())
    more = len(keys) > limit
    keys = keys[:limit]
    return keys, encode_cursor([str(keys[-1].id)]) if more else None


async def get_api_key(*, session: AsyncSession, api_key_id: uuid.UUID) -> ApiKey:
    """One key (without the key itself); 404 when there is none."""
    api_key = await session.get(ApiKey, api_key_id)
    if api_key is None:
        raise ApiKeyNotFound("no such API key")
    return api_key


async def revoke_api_key(*, session: AsyncSession, api_key_id: uuid.UUID, actor: Principal) -> ApiKey:
    """Revoke a key; revoking twice is harmless."""
    api_key = await session.get(ApiKey, api_key_id)
    if api_key is None:
        raise ApiKeyNotFound("no such API key")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await revocations.revoke(session=session, kind="api_key", subject=api_key.id)
        await session.flush()
        await record(
            session,
            infra_tables.audit_log,
            principal=actor,
            action="api_key.revoked",
            resource_type="api_key",
            resource_id=api_key.id,
            before={"revoked_at": None},
            after={"revoked_at": api_key.revoked_at.isoformat()},
        )
    return api_key
