"""Services answer only the gateway and their peers in production: a peer token on every internal call.

The gateway is where rate limits, sign-in throttling and API keys live; a service reachable
directly would skip them. Two layers keep callers out:

- the deployment's network policy lets only the gateway and the peers reach a service
  (``deploy/k8s``; on one machine, the services listen on loopback);
- each app marks its own calls to another app with ``X-CRM-Peer``: a short-lived token signed with
  the deployment's secret for the audience ``<jwt_audience>:peers``, which no user token carries
  and no client can mint. In staging and production (or with ``CRM_REQUIRE_PEER_TOKEN=true``) a
  service refuses ``/api/v1`` requests without a valid one (403); health and metrics stay as they
  are. The gateway drops any ``X-CRM-Peer`` a client sends and adds its own.

The user's own bearer token still travels with the call, so the service's object-level scoping
applies exactly as before: the peer token says *who relays*, never *who asks*.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from crmkit.body_limit import send_problem
from crmkit.problems import problem_kind
from crmkit.settings import CommonSettings

PEER_HEADER = "X-CRM-Peer"
_RAW_HEADER = PEER_HEADER.lower().encode()
ALGORITHM = "HS256"
LIFETIME_SECONDS = 600
RENEW_BEFORE_SECONDS = 120
_API_PREFIX = "/api/v1"
DIRECT_CALL_REFUSED = problem_kind("direct-call-refused", "Forbidden", 403)


def _audience(settings: CommonSettings) -> str:
    return f"{settings.jwt_audience}:peers"


class PeerTokens:
    """This process's peer token (renewed before it expires), and the tokens it has verified."""

    def __init__(self) -> None:
        self._own: dict[str, tuple[str, float]] = {}
        self._verified: dict[str, float] = {}

    def own(self, settings: CommonSettings) -> str:
        key = f"{settings.jwt_secret}|{settings.service_name}"
        cached = self._own.get(key)
        now = time.time()
        if cached is not None and cached[1] - now > RENEW_BEFORE_SECONDS:
            return cached[0]
        claims: dict[str, Any] = {
            "sub": settings.service_name,
            "aud": _audience(settings),
            "iss": settings.jwt_issuer,
            "iat": int(now),
            "exp": int(now) + LIFETIME_SECONDS,
        }
        token = jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)
        self._own[key] = (token, now + LIFETIME_SECONDS)
        return token

    def valid(self, settings: CommonSettings, token: str) -> bool:
        now = time.time()
        expires = self._verified.get(token)
        if expires is not None and expires > now:
            return True
        try:
            claims = jwt.decode(
                token,
                settings.jwt_secret,
                algorithms=[ALGORITHM],
                audience=_audience(settings),
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.InvalidTokenError:
            return False
        if len(self._verified) > 1000:
            self._verified.clear()
        self._verified[token] = float(claims["exp"])
        return True


peer_tokens = PeerTokens()
_outbound: CommonSettings | None = None


def sign_outbound_calls(settings: CommonSettings) -> None:
    """From now on ``peer_headers()`` carries this app's peer token (called once at app creation)."""
    global _outbound
    _outbound = settings


def peer_headers() -> dict[str, str]:
    """``{X-CRM-Peer: ...}`` for a call to another app; empty before an app has been created."""
    if _outbound is None:
        return {}
    return {PEER_HEADER: peer_tokens.own(_outbound)}


def peer_token_required(settings: CommonSettings) -> bool:
    if settings.require_peer_token is not None:
        return settings.require_peer_token
    return settings.environment in ("staging", "production")


class PeerOnlyMiddleware:
    """In a service: ``/api/v1`` requests without a valid peer token are refused (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_API_PREFIX):
            await self.app(scope, receive, send)
            return
        settings: CommonSettings = scope["app"].state.settings
        if peer_token_required(settings):
            token = next((v for k, v in scope["headers"] if k == _RAW_HEADER), None)
            if token is None or not peer_tokens.valid(settings, token.decode("latin-1")):
                await send_problem(
                    send,
                    scope,
                    status=403,
                    title="Forbidden",
                    slug=DIRECT_CALL_REFUSED,
                    detail="this service answers only the gateway and its peers; call it through the gateway",
                )
                return
        await self.app(scope, receive, send)
