"""Where sealed objects live: one small interface, two backends.

- ``LocalStorage``: files under the data directory (the embedded default, ``make run``);
- ``S3Storage`` (services/documents/s3.py): any S3-compatible store (MinIO in docker-compose, AWS
  S3...) through aiobotocore, imported only when that backend is configured (aiobotocore and
  botocore: ~13 MB of RSS).

Keys are random (``uuid4().hex``), never derived from a filename. A write goes to a temporary
place first (a ``.partial`` file, an S3 multipart upload) and becomes visible only on ``commit``;
``abort`` leaves nothing behind, so a refused upload leaves no orphan object.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

READ_CHUNK = 256 * 1024
KEY = re.compile(r"^[0-9a-f]{32}(\.thumb)?$")


class ObjectMissing(Exception):
    pass


class ObjectWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class Storage(Protocol):
    name: str

    async def writer(self, key: str) -> ObjectWriter: ...
    def read(self, key: str) -> AsyncIterator[bytes]: ...
    async def size(self, key: str) -> int | None: ...
    async def delete(self, key: str) -> None: ...
    async def keys(self) -> list[str]: ...
    async def listing(self) -> list[tuple[str, datetime]]: ...


def checked_key(key: str) -> str:
    if not KEY.match(key):
        raise ValueError("not an object key")
    return key


class LocalStorage:
    """``<root>/<k[:2]>/<key>``; writes in a worker thread, so the event loop never waits on disk."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        partial = key.endswith(".partial") and checked_key(key.removesuffix(".partial"))
        key = key if partial else checked_key(key)
        return self.root / key[:2] / key

    async def writer(self, key: str) -> LocalWriter:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        return await asyncio.to_thread(LocalWriter.open, path)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def keys(self) -> list[str]:
        return [key for key, _ in await self.listing()]

    async def listing(self) -> list[tuple[str, datetime]]:
        """Every object with its last change; a ``.partial`` left by a crash counts under its key's
        name with the suffix, and ``delete`` of that name removes it."""

        def walk() -> list[tuple[str, datetime]]:
            if not self.root.exists():
                return []
            found = []
            for path in self.root.glob("*/*"):
                if path.is_file() and KEY.match(path.name.removesuffix(".partial")):
                    found.append((path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)))
            return sorted(found)

        return await asyncio.to_thread(walk)


class LocalWriter:
    FLUSH_AT = 1024 * 1024

    def __init__(self, path: Path, partial: Path, handle: Any) -> None:
        self.path, self.partial, self.handle = path, partial, handle
        self.buffer = bytearray()

    @classmethod
    def open(cls, path: Path) -> LocalWriter:
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return cls(path, partial, os.fdopen(fd, "wb"))

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        if len(self.buffer) >= self.FLUSH_AT:
            data, self.buffer = bytes(self.buffer), bytearray()
            await asyncio.to_thread(self.handle.write, data)

    async def commit(self) -> None:
        data, self.buffer = bytes(self.buffer), bytearray()

        def finish() -> None:
            self.handle.write(data)
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.partial, self.path)

        await asyncio.to_thread(finish)

    async def abort(self) -> None:
        def drop() -> None:
            self.handle.close()
            self.partial.unlink(missing_ok=True)

        self.buffer = bytearray()
        await asyncio.to_thread(drop)
