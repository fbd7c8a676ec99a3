"""The one file part of a ``multipart/form-data`` upload, read as it arrives (python-multipart's
push parser): never the whole body in memory, never a temporary file."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from services.documents.errors import InvalidField, NotMultipart

FILE_FIELD = "file"


class FilePart:
    """``await FilePart.start(request)`` → ``.filename`` and ``async for chunk in part.chunks()``."""

    def __init__(self, request: Request, parser_boundary: bytes) -> None:
        self._body = request.stream()
        self._events: deque[tuple[str, Any]] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._done = False
        self.filename: str | None = None
        self.parts = 0
        callbacks: Any = {
            "on_part_begin": lambda: self._events.append(("begin", None)),
            "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
            "on_part_end": lambda: self._events.append(("end", None)),
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self._events.append(("headers", dict(self._headers))),
        }
        self._parser = MultipartParser(parser_boundary, callbacks)

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("latin-1")
        self._header_field.clear()
        self._header_value.clear()

    @classmethod
    async def start(cls, request: Request) -> FilePart:
        kind, options = parse_options_header(request.headers.get("content-type"))
        if kind != b"multipart/form-data" or not options.get(b"boundary"):
            raise NotMultipart()
        part = cls(request, options[b"boundary"])
        await part._open()
        return part

    async def _next_event(self) -> tuple[str, Any] | None:
        while not self._events:
            if self._done:
                return None
            try:
                chunk = await self._body.__anext__()
            except StopAsyncIteration:
                self._done = True
                self._parser.finalize()
                continue
            except ClientDisconnect:
                self._done = True
                raise InvalidField("file", "the upload was cut short") from None
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise InvalidField("file", "the multipart body is malformed") from exc
        return self._events.popleft()

    async def _open(self) -> None:
        """Up to the headers of the file part; any other part before it is refused."""
        while (event := await self._next_event()) is not None:
            if event[0] == "begin":
                self._headers = {}
                self.parts += 1
            elif event[0] == "headers":
                disposition = event[1].get("content-disposition", "")
                _, params = parse_options_header(disposition.encode("latin-1"))
                name = params.get(b"name", b"").decode("utf-8", "replace")
                if name != FILE_FIELD or b"filename" not in params:
                    raise InvalidField("file", "send exactly one part, named 'file', holding the file")
                self.filename = params[b"filename"].decode("utf-8", "replace")
                return
        raise InvalidField("file", "no file part named 'file' in the body")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes; then the rest of the body must hold no other part."""
        while (event := await self._next_event()) is not None:
            if event[0] == "data":
                if event[1]:
                    yield event[1]
            elif event[0] == "end":
                break
        while (event := await self._next_event()) is not None:
            if event[0] == "begin":
                raise InvalidField("file", "send exactly one part, named 'file', holding the file")
