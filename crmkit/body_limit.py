"""Request body size limit (413) as a pure ASGI middleware."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkit.problems import PROBLEM_JSON, problem_body, render_problem


class BodyTooLarge(Exception):
    pass


async def send_problem(
    send: Send,
    scope: Scope,
    *,
    status: int,
    title: str,
    slug: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer a problem+json directly from middleware, outside FastAPI's handlers."""
    body = render_problem(
        problem_body(path=scope.get("path"), status=status, title=title, slug=slug, detail=detail)
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", PROBLEM_JSON.encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


UPLOAD_CONTENT_TYPES = (b"text/csv",)
"""File uploads (a spreadsheet of clients) may be larger than an API body; the handler that takes
them enforces its own, smaller or equal, limit."""
FILE_CONTENT_TYPES = (b"multipart/form-data",)
"""Document uploads: larger still, and only on the paths an app names (``file_paths``); elsewhere a
multipart body gets the ordinary limit, so no JSON route is made to read 64 MiB."""


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit: by Content-Length up front, or while streaming.

    ``max_bytes`` for JSON and the like; ``upload_max_bytes`` for ``text/csv`` uploads;
    ``file_max_bytes`` for ``multipart/form-data`` under one of ``file_paths`` (documents)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_max_bytes: int | None = None,
        file_max_bytes: int | None = None,
        file_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = max(upload_max_bytes or max_bytes, max_bytes)
        self.file_max_bytes = max(file_max_bytes or max_bytes, max_bytes)
        self.file_paths = file_paths

    def _limit(self, scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-type":
                kind = value.split(b";", 1)[0].strip().lower()
                if kind in UPLOAD_CONTENT_TYPES:
                    return self.upload_max_bytes
                if kind in FILE_CONTENT_TYPES and str(scope.get("path", "")).startswith(self.file_paths):
                    return self.file_max_bytes
                return self.max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope, send, limit)
                    return
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked:
            # The server frames the body by its Content-Length (none: an empty body, RFC 9112 §6.3),
            # so it cannot outgrow a length already checked: no wrappers to pay on every message.
            await self.app(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        await send_problem(
            send,
            scope,
            status=413,
            title="Payload too large",
            slug="payload-too-large",
            detail=f"request body exceeds {limit} bytes",
        )
