"""Asking another app over HTTP on the caller's behalf (never reading its schema).

The caller's token is forwarded, so the other app's own scoping applies: an object the caller
may not see is simply not found. A peer that is down or misbehaves is a 503 problem here, and the
calling request stores nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from crmkit.app import AppHook
from crmkit.auth import Role, ServiceToken, issue_access_token
from crmkit.balancing import balanced
from crmkit.http import forwarded_headers, pooled_client, pooled_transport
from crmkit.observability import Metrics
from crmkit.problems import ServiceUnavailable
from crmkit.revocations import REVOCATIONS_SCOPE, SERVICE_ACCOUNT, Fetch, Revocation
from crmkit.settings import CommonSettings


class PeerUnavailable(ServiceUnavailable):
    """A service this request depends on is unavailable (the same problem type as any 503)."""


def peer_client_hook(*, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None) -> AppHook:
    """One pooled client per app for its calls to other apps, at ``app.state.peer_http``, balanced
    over the replicas of any app whose URL is a list (crmkit/balancing.py)."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        settings: CommonSettings = app.state.settings
        metrics: Metrics = app.state.metrics
        inner = transport or pooled_transport()
        routed = balanced(inner, settings.replicas, on_retry=metrics.retried)
        async with pooled_client(timeout_seconds=timeout_seconds, transport=routed) as client:
            app.state.peer_http = client
            yield

    return hook


async def get_json(
    http: httpx.AsyncClient,
    url: str,
    *,
    authorization: str | None,
    peer: str,
    params: dict[str, Any] | None = None,
) -> Any | None:
    """The peer's JSON body; ``None`` when it answers 404 (absent, or outside the caller's scope)."""
    try:
        response = await http.get(url, params=params, headers=forwarded_headers(authorization))
    except httpx.HTTPError as exc:
        raise PeerUnavailable(f"the {peer} service is unreachable; nothing was changed") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise PeerUnavailable(f"the {peer} service answered {response.status_code}; nothing was changed")
    try:
        return response.json()
    except ValueError as exc:
        raise PeerUnavailable(f"the {peer} service answered with a body that is not JSON") from exc


def revocations_reader_token(settings: CommonSettings, ttl: timedelta = timedelta(minutes=1)) -> str:
    """A token of the service account that can read the revocations feed and nothing else."""
    return issue_access_token(
        settings,
        user_id=SERVICE_ACCOUNT,
        role=Role.OPS,
        team_id=None,
        scopes=frozenset({REVOCATIONS_SCOPE}),
        ttl=ttl,
    )


def gateway_revocations(app: FastAPI) -> Fetch:
    """Pull revocations from the gateway with a one-minute ``ops`` token of the revocations scope
    (it can read nothing else), on the app's pooled peer client."""
    settings: CommonSettings = app.state.settings
    url = f"{settings.identity_url.rstrip('/')}/api/v1/auth/revocations"

    # One token for thirty seconds of polls, not one a second (crmkit.auth.ServiceToken).
    reader_token = ServiceToken(lambda ttl: revocations_reader_token(settings, ttl), timedelta(minutes=1))

    async def fetch(since: float) -> list[Revocation]:
        http: httpx.AsyncClient | None = getattr(app.state, "peer_http", None)
        if http is None:
            raise RuntimeError("this app has no peer client (crmkit.peers.peer_client_hook)")
        token = reader_token()
        response = await http.get(
            url, params={"since": max(since, 0.0)}, headers=forwarded_headers(f"Bearer {token}")
        )
        response.raise_for_status()
        return [
            Revocation(
                kind=item["kind"],
                subject=uuid.UUID(item["subject"]),
                not_before=datetime.fromisoformat(item["not_before"]).timestamp(),
            )
            for item in response.json()["items"]
        ]

    return fetch
