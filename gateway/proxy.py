"""Reverse proxy: ``/api/v1/<service>/...`` → the service, path and query unchanged.

A pure ASGI middleware placed inside the request-id and body-limit layers but outside the
idempotency layer, so proxied calls cost no routing and no database work at the gateway (the
services keep their own idempotency records). Bearer tokens pass through untouched (services
verify them); API keys are resolved here into a short-lived access token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from crmkit.body_limit import send_problem
from crmkit.context import request_id_var
from crmkit.peer_auth import peer_headers
from crmkit.problems import ProblemError
from gateway.api_key_auth import ApiKeyResolver
from gateway.forwarding import CutShort, Upstreams

log = logging.getLogger("gateway.proxy")

API_PREFIX = "/api/v1/"
GATEWAY_OWNED_PATHS = (re.compile(r"^/api/v1/clients/[^/]+/overview/?$"),)
"""Paths under a service's prefix that the gateway serves itself (its fan-out views)."""
_DROPPED_REQUEST_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"host",
        b"content-length",
        b"proxy-authorization",
        b"proxy-connection",
        b"x-request-id",
        b"x-api-key",
        b"x-crm-peer",  # a client's claim to be a peer is dropped; the gateway adds its own
    }
)
_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-connection",
        b"x-request-id",  # the request-id layer adds the (same) id once
        b"date",
        b"server",
    }
)


_LOCATION_HEADERS = frozenset({b"location", b"content-location"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public_location(value: bytes) -> bytes:
    """An upstream's ``Location`` as the gateway may repeat it: an absolute URL names the service's
    internal address, so only its path and query are kept (the gateway serves the same paths)."""
    parts = urlsplit(value.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return value
    return (parts.path or "/").encode("latin-1") + (
        b"?" + parts.query.encode("latin-1") if parts.query else b""
    )


def _response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    headers = []
    for name, value in raw:
        lower = name.lower()
        if lower in _DROPPED_RESPONSE_HEADERS:
            continue
        headers.append((lower, public_location(value) if lower in _LOCATION_HEADERS else value))
    return headers


@dataclass(frozen=True, slots=True)
class RouteLabel:
    """Stands in for a route in ``scope["route"]`` so metrics group proxied calls by service."""

    path: str


def api_key_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """``X-API-Key: crm_...`` or ``Authorization: ApiKey crm_...``."""
    for name, value in headers:
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
        if name == b"authorization" and value[:7].lower() == b"apikey ":
            return value[7:].decode("latin-1").strip()
    return None


class ProxyMiddleware:
    def __init__(self, app: ASGIApp, *, upstreams: dict[str, str]) -> None:
        self.app = app
        self.upstreams = upstreams
        self.labels = {name: RouteLabel(f"/api/v1/{name}/{{path:path}}") for name in upstreams}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(API_PREFIX)
            or any(p.match(path) for p in GATEWAY_OWNED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        service = path[len(API_PREFIX) :].split("/", 1)[0]
        base = self.upstreams.get(service)
        if base is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.labels[service]
        try:
            await self._forward(scope, receive, send, service, base)
        except ProblemError as problem:
            await send_problem(
                send,
                scope,
                status=problem.status,
                title=problem.title,
                slug=problem.slug,
                detail=problem.detail or problem.title,
                headers=[(k.lower().encode(), v.encode("latin-1")) for k, v in problem.headers.items()],
            )

    async def _forward(self, scope: Scope, receive: Receive, send: Send, service: str, base: str) -> None:
        state = scope["app"].state
        upstreams: Upstreams = state.upstreams
        incoming: list[tuple[bytes, bytes]] = scope["headers"]

        key = api_key_of(incoming)
        authorization: bytes | None = None
        if key is not None:
            resolver: ApiKeyResolver = state.api_key_resolver
            authorization = await resolver.authorization_for(key)
        headers = [
            (name, value)
            for name, value in incoming
            if name not in _DROPPED_REQUEST_HEADERS and not (authorization and name == b"authorization")
        ]
        if authorization:
            headers.append((b"authorization", authorization))
        request_id = request_id_var.get()
        if request_id:
            headers.append((b"x-request-id", request_id.encode("latin-1")))
        headers.extend((k.lower().encode(), v.encode("latin-1")) for k, v in peer_headers().items())

        body = await _request_body(receive)
        if not isinstance(body, bytes):
            # Streamed through as it arrives (a document upload): the declared length, if any, goes
            # with it so the service can refuse an oversized file before reading it.
            headers.extend((name, value) for name, value in incoming if name == b"content-length")
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        answer = await upstreams.send(service, base, scope["method"], target, headers, body)
        if scope["method"] not in _SAFE_METHODS:
            # Whatever it changed, the agendas kept of it are stale now, before the caller can ask
            # again (its NOTIFY may still be on the way: gateway/views/agenda_cache.py).
            state.agenda_cache.changed(service)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": _response_headers(answer.headers),
                }
            )
            if answer.body is not None:  # read whole: one message
                await send({"type": "http.response.body", "body": answer.body})
                return
            async for chunk in answer.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except CutShort:
            log.warning("upstream response cut short", extra={"service": service})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await answer.close()


async def _request_body(receive: Receive) -> bytes | AsyncIterator[bytes]:
    """A body that arrived in one message (nearly every API call) as bytes; a longer one as a
    stream, so the gateway never holds a whole upload in memory."""
    message = await receive()
    first: bytes = message.get("body", b"") if message["type"] == "http.request" else b""
    if message["type"] != "http.request" or not message.get("more_body", False):
        return first

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunk: bytes = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    return rest()
