"""Asking another app over HTTP on the caller's behalf (never reading its schema).

The caller's token is forwarded, so the other app's own scoping applies: an object the caller
may not see is simply not found. A peer that is down or misbehaves is a 503 problem here, and the
calling request stores nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from crmkit.app import AppHook
from crmkit.http import forwarded_headers, pooled_client
from crmkit.problems import ServiceUnavailable


class PeerUnavailable(ServiceUnavailable):
    title = "A service this request depends on is unavailable"
    slug = "dependency-unavailable"


def peer_client_hook(*, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None) -> AppHook:
    """One pooled client per app for its calls to other apps, at ``app.state.peer_http``."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        async with pooled_client(timeout_seconds=timeout_seconds, transport=transport) as client:
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
