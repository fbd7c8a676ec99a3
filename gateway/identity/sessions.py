"""Signing in: password login, refresh-token rotation with reuse detection, logout."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import ACCESS_TOKEN_TTL, Role, issue_access_token
from gateway.config import Settings
from gateway.identity import revocations
from gateway.identity.errors import InvalidCredentials, InvalidRefreshToken, RefreshTokenReused
from gateway.identity.models import RefreshToken, User, utcnow
from gateway.identity.schemas import TokenPair
from gateway.identity.service import get_user_by_email
from gateway.identity.tokens import (
    hash_password,
    needs_rehash,
    new_refresh_token,
    sha256_hex,
    verify_password,
)


async def authenticate(*, session: AsyncSession, settings: Settings, email: str, password: str) -> User:
    """The active user with this email and password; otherwise one and the same 401."""
    user = await get_user_by_email(session=session, email=email)
    if not await verify_password(settings, user.password_hash if user else None, password):
        raise InvalidCredentials
    assert user is not None
    if not user.is_active:
        raise InvalidCredentials
    if needs_rehash(settings, user.password_hash):
        user.password_hash = await hash_password(settings, password)
    return user


async def issue_tokens(
    *, session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID | None = None
) -> TokenPair:
    """A fresh access token and a refresh token (a new family unless one is continued)."""
    refresh = new_refresh_token()
    family_id = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            family_id=family_id,
            user_id=user.id,
            token_hash=sha256_hex(refresh),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    access = issue_access_token(
        settings,
        user_id=user.id,
        role=Role(user.role),
        team_id=user.team_id,
        location=user.location,
        session_id=family_id,
    )
    return TokenPair(
        access_token=access,
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        refresh_token=refresh,
    )


async def revoke_family(*, session: AsyncSession, family_id: uuid.UUID) -> None:
    """End a sign-in session: its refresh tokens, and its access tokens on every app within seconds."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    await revocations.revoke(session=session, kind="session", subject=family_id)


async def rotate_refresh_token(*, session: AsyncSession, settings: Settings, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; a reused token revokes its whole family."""
    stored = await session.scalar(
        select(RefreshToken)
        .where(col(RefreshToken.token_hash) == sha256_hex(refresh_token))
        .with_for_update()
    )
    if stored is None or stored.revoked_at is not None:
        raise InvalidRefreshToken("refresh token is not valid")
    if stored.used_at is not None:
        await revoke_family(session=session, family_id=stored.family_id)
        await session.flush()
        raise RefreshTokenReused("refresh token was already used; sign in again")
    if stored.expires_at <= utcnow():
        raise InvalidRefreshToken("refresh token expired; sign in again")
    user = await session.get(User, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken("refresh token is not valid")
    stored.used_at = utcnow()
    return await issue_tokens(session=session, settings=settings, user=user, family_id=stored.family_id)


async def log_out(*, session: AsyncSession, refresh_token: str) -> None:
    """End the session the refresh token belongs to (unknown tokens are ignored)."""
    family_id = await session.scalar(
        select(col(RefreshToken.family_id)).where(col(RefreshToken.token_hash) == sha256_hex(refresh_token))
    )
    if family_id is not None:
        await revoke_family(session=session, family_id=family_id)
