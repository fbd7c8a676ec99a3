"""Outbound HTTP between apps: one pooled client per app, timeouts everywhere."""

from __future__ import annotations

import functools
import ssl

import httpx
from httpx_aiohttp import AiohttpTransport

from crmkit.context import request_id_var
from crmkit.peer_auth import peer_headers


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The certificate check of every outbound client of this process, built once.

    Each transport used to build its own (httpx's default: the ``certifi`` bundle, or
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``), ~30 ms of CPU at each app's start, although the apps call each
    other over plain HTTP unless configured otherwise. One context serves any number of connections;
    the launcher's zygote builds it before forking the apps (launcher/zygote.py), so they share it.
    """
    return httpx.create_ssl_context()


def pooled_transport(*, max_connections: int = 200) -> httpx.AsyncBaseTransport:
    """Keep-alive connections to the other apps, through aiohttp's connector.

    httpx's own pool (httpcore) walks every connection of the pool on every request, checking each
    for expiry; at a few hundred requests in flight that scan was a third of the gateway's CPU
    (encode/httpx#3215). aiohttp's connector hands out a free connection without the scan; the httpx
    API (clients, requests, errors) stays the same everywhere, and tests still route in process.
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return AiohttpTransport(verify=shared_tls_context(), limits=limits, retries=0)


def pooled_client(
    *,
    timeout_seconds: float,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 200,
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0))
    if transport is None:
        transport = pooled_transport(max_connections=max_connections)
    return httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits)


def forwarded_headers(authorization: str | None) -> dict[str, str]:
    """The caller's token, the request id and this app's peer token, for a call made on the caller's
    behalf (crmkit/peer_auth.py)."""
    headers: dict[str, str] = peer_headers()
    if authorization:
        headers["Authorization"] = authorization
    request_id = request_id_var.get()
    if request_id:
        headers["X-Request-ID"] = request_id
    return headers
