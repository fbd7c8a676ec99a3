"""Test helpers: route outbound HTTP between in-process apps by host name, as on a network."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp


class MeshTransport(httpx.AsyncBaseTransport):
    """``http://clients.internal/...`` → the clients app, in process. Unknown or downed hosts
    raise ``httpx.ConnectError`` exactly as a stopped service would; hosts in ``slow`` wait that many
    seconds before answering, as an overloaded service would."""

    def __init__(self) -> None:
        self._routes: dict[str, httpx.AsyncBaseTransport] = {}
        self.down: set[str] = set()
        self.slow: dict[str, float] = {}

    def register(self, host: str, app: ASGIApp, *, streaming: bool = False) -> None:
        """``streaming``: responses are streamed as the app sends them (Server-Sent Events)."""
        self._routes[host] = (
            StreamingASGITransport(app)
            if streaming
            else httpx.ASGITransport(app=app, raise_app_exceptions=False)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self._routes:
            raise httpx.ConnectError(f"connection refused: {host}", request=request)
        delay = self.slow.get(host)
        if delay:
            await asyncio.sleep(delay)
        return await self._routes[host].handle_async_request(request)


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Like ``httpx.ASGITransport``, but the response is handed back at ``http.response.start`` and
    its body streamed as the app sends it (httpx's waits for the app to finish, which a Server-Sent
    Events stream never does). Closing the response tells the app the client went away."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        disconnected = asyncio.Event()
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set_result((int(message["status"]), list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                chunk: bytes = message.get("body", b"")
                if chunk:
                    await chunks.put(chunk)
                if not message.get("more_body", False):
                    await chunks.put(None)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port or 80),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }

        async def run() -> None:
            try:
                await self.app(scope, receive, send)  # type: ignore[arg-type]
            finally:
                await chunks.put(None)
                if not started.done():
                    started.set_exception(RuntimeError("the app sent no response"))

        task = asyncio.create_task(run())
        status, headers = await started

        class Body(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                while (chunk := await chunks.get()) is not None:
                    yield chunk

            async def aclose(self) -> None:
                disconnected.set()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

        return httpx.Response(status, headers=headers, stream=Body(), request=request)


class StatementLog:
    """Every SQL statement any engine in this process sends, with its parameters, while active
    (``with StatementLog() as log:``). Used to read the apps' real queries: the bench's plans
    (``bench/plans.py``) and the distribution-key test (``tests/test_distribution_keys.py``)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        self.statements.append((statement, parameters))

    def __enter__(self) -> StatementLog:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._record)
