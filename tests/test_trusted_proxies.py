"""Forwarded headers are honoured only from ``CRM_TRUSTED_PROXIES`` (issue 14, finding 2).

uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by default: anyone reaching a loopback-bound
gateway could name any client address, rotate it for unlimited password guesses, or set it to a
victim's address to have the victim throttled. These tests run real uvicorn servers with the
options every app is started with (``launcher.serve``) and ask them who the client is.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from launcher.serve import trusted_proxies, uvicorn_options


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app that answers the client address uvicorn gave it."""
    if scope["type"] != "http":
        return
    host = scope["client"][0] if scope.get("client") else "none"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": host.encode()})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _serve(environ: dict[str, str]) -> AsyncIterator[str]:
    options = uvicorn_options(environ) | {"loop": "asyncio", "http": "h11"}  # inside pytest's loop
    port = _free_port()
    config = uvicorn.Config(whoami, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _client_address(base_url: str, forwarded_for: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/", headers={"X-Forwarded-For": forwarded_for})
    return response.text


class TestNoTrustedProxy:
    async def test_a_forged_forwarded_for_from_loopback_is_ignored(self) -> None:
        async with _serve({}) as url:
            assert await _client_address(url, "203.0.113.9") == "127.0.0.1"
            assert await _client_address(url, "198.51.100.7") == "127.0.0.1"  # rotating changes nothing


class TestATrustedProxy:
    async def test_its_forwarded_for_names_the_client(self) -> None:
        async with _serve({"CRM_TRUSTED_PROXIES": "127.0.0.1"}) as url:
            assert await _client_address(url, "203.0.113.9") == "203.0.113.9"

    async def test_a_network_may_be_named(self) -> None:
        async with _serve({"CRM_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.0/8"}) as url:
            assert await _client_address(url, "203.0.113.9") == "203.0.113.9"

    async def test_a_proxy_not_in_the_list_is_not_trusted(self) -> None:
        async with _serve({"CRM_TRUSTED_PROXIES": "10.0.0.1"}) as url:
            assert await _client_address(url, "203.0.113.9") == "127.0.0.1"


def test_a_malformed_entry_stops_the_start() -> None:
    with pytest.raises(SystemExit, match="CRM_TRUSTED_PROXIES"):
        trusted_proxies({"CRM_TRUSTED_PROXIES": "127.0.0.1, proxy.internal"})
