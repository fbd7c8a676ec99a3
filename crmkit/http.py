"""Outbound HTTP between apps: one pooled client per app, timeouts everywhere."""

from __future__ import annotations

import httpx

from crmkit.context import request_id_var


def pooled_client(
    *,
    timeout_seconds: float,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 200,
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0))
    if transport is None:
        transport = httpx.AsyncHTTPTransport(limits=limits, retries=0)
    return httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits)


def forwarded_headers(authorization: str | None) -> dict[str, str]:
    """The caller's token and the request id, for a call made on the caller's behalf."""
    headers: dict[str, str] = {}
    if authorization:
        headers["Authorization"] = authorization
    request_id = request_id_var.get()
    if request_id:
        headers["X-Request-ID"] = request_id
    return headers
