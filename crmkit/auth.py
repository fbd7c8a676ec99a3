"""Access-token verification and the authenticated principal, checked by every app itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crmkit.problems import Forbidden, Unauthorized
from crmkit.settings import CommonSettings

ALGORITHM = "HS256"
ACCESS_TOKEN_TTL = timedelta(minutes=15)


class Role(StrEnum):
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"
    OPS = "ops"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user, or an integrator's API key acting for its owner with fewer scopes."""

    user_id: uuid.UUID
    role: Role
    team_id: uuid.UUID | None
    scopes: frozenset[str] | None = None
    api_key_id: uuid.UUID | None = None
    location: str | None = None
    """Where the user works (an office or branch): devices there are theirs to check."""

    @property
    def actor(self) -> str:
        return f"api_key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"

    def allows(self, scope: str) -> bool:
        """Users have every scope their role grants; an API key only those it was given."""
        return self.scopes is None or scope in self.scopes


def issue_access_token(
    settings: CommonSettings,
    *,
    user_id: uuid.UUID,
    role: Role,
    team_id: uuid.UUID | None,
    scopes: frozenset[str] | None = None,
    api_key_id: uuid.UUID | None = None,
    location: str | None = None,
    ttl: timedelta = ACCESS_TOKEN_TTL,
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role.value,
        "team": str(team_id) if team_id else None,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    if scopes is not None:
        claims["scopes"] = sorted(scopes)
    if api_key_id is not None:
        claims["akid"] = str(api_key_id)
    if location is not None:
        claims["loc"] = location
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def decode_access_token(settings: CommonSettings, token: str) -> Principal:
    """Signature, expiry, audience and issuer are all checked; any failure is a 401."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        scopes = claims.get("scopes")
        return Principal(
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            team_id=uuid.UUID(claims["team"]) if claims.get("team") else None,
            scopes=frozenset(scopes) if scopes is not None else None,
            api_key_id=uuid.UUID(claims["akid"]) if claims.get("akid") else None,
            location=claims.get("loc"),
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("access token expired", headers=_challenge("invalid_token")) from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized(
            "access token is not meant for this API", headers=_challenge("invalid_token")
        ) from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise Unauthorized("invalid access token", headers=_challenge("invalid_token")) from exc


def _challenge(error: str | None = None) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer error="{error}"' if error else "Bearer"}


bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/token")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing bearer token", headers=_challenge())
    settings: CommonSettings = request.app.state.settings
    principal = decode_access_token(settings, credentials.credentials)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only the given roles (403 otherwise: roles are not secret)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this operation is not available to the {principal.role.value} role")
        return principal

    return Depends(check)


def require_scope(scope: str) -> Any:
    """For API keys: the key must carry the scope (``clients:read``, ``clients:write``...)."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope")
        return principal

    return Depends(check)
