"""Test helpers: route outbound HTTP between in-process apps by host name, as on a network."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


class MeshTransport(httpx.AsyncBaseTransport):
    """``http://clients.internal/...`` → the clients app, in process. Unknown or downed hosts
    raise ``httpx.ConnectError`` exactly as a stopped service would; hosts in ``slow`` wait that many
    seconds before answering, as an overloaded service would."""

    def __init__(self) -> None:
        self._routes: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.slow: dict[str, float] = {}

    def register(self, host: str, app: ASGIApp) -> None:
        self._routes[host] = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self._routes:
            raise httpx.ConnectError(f"connection refused: {host}", request=request)
        delay = self.slow.get(host)
        if delay:
            await asyncio.sleep(delay)
        return await self._routes[host].handle_async_request(request)
