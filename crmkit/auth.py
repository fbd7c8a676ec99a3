"""Access-token verification and the authenticated principal, checked by every app itself."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from fastapi.security.base import SecurityBase

from crmkit.problems import Forbidden, Unauthorized
from crmkit.revocations import Revocations
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
    session_id: uuid.UUID | None = None
    """The sign-in session (refresh-token family) the token belongs to: logout ends it."""
    issued_at: float = 0.0
    """When the token was issued (Unix seconds, sub-second): revocations apply to older tokens."""

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
    session_id: uuid.UUID | None = None,
    ttl: timedelta = ACCESS_TOKEN_TTL,
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iatp": issued.timestamp(),  # ``iat`` is whole seconds; a revocation compares finer
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
    if session_id is not None:
        claims["sid"] = str(session_id)
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


class ServiceToken:
    """A background loop's own token, signed once and sent again until half its life is gone.

    Whoever receives a token keeps it, verified, until it expires (``VerifiedTokens``, the gateway's
    rate limiter): a loop that signed a fresh token for every call (each service's revocation poll,
    once a second) filled the gateway's caches with thousands of tokens used once, several MB of
    its memory by the end of a long run. Half the lifetime left means a call never carries a token
    about to expire; the token says the same thing whichever call it rides on.
    """

    def __init__(
        self, sign: Callable[[timedelta], str], ttl: timedelta, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sign = sign
        self._ttl = ttl
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0

    def __call__(self) -> str:
        now = self._clock()
        if self._token is None or now >= self._renew_at:
            self._token = self._sign(self._ttl)
            self._renew_at = now + self._ttl.total_seconds() / 2
        return self._token


SWEEP_FLOOR = 256
"""A cache of verified tokens drops its expired entries when it reaches twice the size it had
after its last sweep (and at least this many): amortised, nothing is walked per request."""
_K = TypeVar("_K")
_V = TypeVar("_V")


def swept(
    entries: dict[_K, _V], expires_at: Callable[[_V], float], now: float, max_entries: int
) -> tuple[dict[_K, _V], int]:
    """A token cache's entries still alive (none, when even those reach ``max_entries``: crude but
    bounded, a miss costs one verification), and the size at which to sweep next."""
    alive = {key: value for key, value in entries.items() if expires_at(value) > now}
    if len(alive) >= max_entries:
        alive = {}
    return alive, min(max(SWEEP_FLOOR, 2 * len(alive)), max_entries)


class VerifiedTokens:
    """Tokens already verified, until they expire: a mobile app sends the same token for 15
    minutes, and verifying it again each time costs more than the rest of a simple read.
    Keyed by the whole token string, so a tampered token is never a hit. Expired entries are
    swept as it grows (``SWEEP_FLOOR``), so it holds about the tokens still in use, not every
    token seen since the last time it filled up."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self.max_entries = max_entries
        self._sweep_at = SWEEP_FLOOR

    def get(self, token: str) -> Principal | None:
        hit = self._entries.get(token)
        if hit is None:
            return None
        if hit[0] <= time.time():
            self._entries.pop(token, None)
            return None
        return hit[1]

    def put(self, token: str, expires_at: float, principal: Principal) -> None:
        if len(self._entries) >= self._sweep_at:
            self._entries, self._sweep_at = swept(
                self._entries, _expiry_of_verified, time.time(), self.max_entries
            )
        self._entries[token] = (expires_at, principal)

    def __len__(self) -> int:
        return len(self._entries)


def _expiry_of_verified(entry: tuple[float, Principal]) -> float:
    return entry[0]


_verified: dict[tuple[str, str, str], VerifiedTokens] = {}


def decode_access_token(settings: CommonSettings, token: str) -> Principal:
    """Signature, expiry, audience and issuer are all checked; any failure is a 401."""
    key = (settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer)
    cache = _verified.get(key)
    if cache is None:  # not ``setdefault``: it would build an unused cache on every request
        cache = _verified.setdefault(key, VerifiedTokens())
    principal = cache.get(token)
    if principal is None:
        principal, expires_at = _verify(settings, token)
        cache.put(token, expires_at, principal)
    return principal


def _verify(settings: CommonSettings, token: str) -> tuple[Principal, float]:
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
        principal = Principal(
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            team_id=uuid.UUID(claims["team"]) if claims.get("team") else None,
            scopes=frozenset(scopes) if scopes is not None else None,
            api_key_id=uuid.UUID(claims["akid"]) if claims.get("akid") else None,
            location=claims.get("loc"),
            session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
            issued_at=float(claims.get("iatp", claims["iat"])),
        )
        return principal, float(claims["exp"])
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


BEARER_DESCRIPTION = "Access token from POST /api/v1/auth/token"
bearer = HTTPBearer(auto_error=False, description=BEARER_DESCRIPTION)


class PrincipalBearer(SecurityBase):
    """The ``bearer`` scheme resolved, in one dependency, to the verified principal, admitted by
    ``admit`` (which raises to refuse it).

    FastAPI solves every level of a dependency chain on every request, even one whose value it has
    cached (a check → ``current_principal`` → ``bearer`` chain was a fifth of a GET by id's CPU);
    this is one level. Documented as ``bearer`` is (the same scheme name and description), so the
    OpenAPI documents do not change. Sets ``request.state.principal`` for the logs and the audit.
    A request's token is verified once: the router's role gate, the route's scope gate and
    ``PrincipalDep`` share the principal through the request's scope.
    """

    def __init__(self, admit: Callable[[Principal], None] | None = None) -> None:
        # the ``bearer`` scheme's own model and name: what the OpenAPI documents show
        self.model = bearer.model
        self.scheme_name = bearer.scheme_name
        self.admit = admit

    async def __call__(self, request: Request) -> Principal:
        # HTTPBearer's parsing (``auto_error=False``), without building its credentials model
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        if not (scheme and token) or scheme.lower() != "bearer":
            raise Unauthorized("missing bearer token", headers=_challenge())
        verified: tuple[str, Principal] | None = request.scope.get(_VERIFIED)
        if verified is not None and verified[0] == token:
            principal = verified[1]
        else:
            principal = verify_access_token(request, token)
            request.scope[_VERIFIED] = (token, principal)
            request.state.principal = principal
        if self.admit is not None:
            self.admit(principal)
        return principal


_VERIFIED = "crmkit.auth.verified"
"""The request scope's key for its token and principal, once verified (``PrincipalBearer``)."""


current_principal = PrincipalBearer()
"""The caller, whatever its role and scopes (401 without a valid token)."""


def verify_access_token(request: Request, token: str) -> Principal:
    """The token's principal, unless it was revoked since it was issued (a deactivation, a role or
    team change, a logout, a revoked API key): then 401, so the caller signs in again."""
    settings: CommonSettings = request.app.state.settings
    principal = decode_access_token(settings, token)
    revocations: Revocations | None = getattr(request.app.state, "revocations", None)
    if revocations is not None and revocations.revoked(principal):
        raise Unauthorized("access token revoked; sign in again", headers=_challenge("invalid_token"))
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only the given roles (403 otherwise: roles are not secret)."""

    def admit(principal: Principal) -> None:
        if principal.role not in roles:
            raise Forbidden(f"this operation is not available to the {principal.role.value} role")

    return Depends(PrincipalBearer(admit))


def require_scope(scope: str) -> Any:
    """For API keys: the key must carry the scope (``clients:read``, ``clients:write``...)."""

    def admit(principal: Principal) -> None:
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope")

    return Depends(PrincipalBearer(admit))
