"""Where sealed objects live: one small interface, two backends.

- ``LocalStorage``: files under the data directory (the embedded default, ``make run``);
- ``S3Storage``: any S3-compatible store (MinIO in docker-compose, AWS S3...) through aiobotocore.

Keys are random (``uuid4().hex``), never derived from a filename. A write goes to a temporary
place first (a ``.partial`` file, an S3 multipart upload) and becomes visible only on ``commit``;
``abort`` leaves nothing behind, so a refused upload leaves no orphan object.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

READ_CHUNK = 256 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}(\.thumb)?$")


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


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError("not an object key")
    return key


class LocalStorage:
    """``<root>/<k[:2]>/<key>``; writes in a worker thread, so the event loop never waits on disk."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        key = key if key.endswith(".partial") and _checked(key.removesuffix(".partial")) else _checked(key)
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
                if path.is_file() and _KEY.match(path.name.removesuffix(".partial")):
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


class S3Storage:
    """One bucket; uploads as S3 multipart uploads of ``PART`` bytes (the last may be smaller), so
    memory holds at most one part whatever the file's size."""

    name = "s3"
    PART = 8 * 1024 * 1024

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def writer(self, key: str) -> S3Writer:
        return S3Writer(self, _checked(key))

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            answer = await self.client.get_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(key) from exc
            raise
        body = answer["Body"]
        try:
            while chunk := await body.read(READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        try:
            head = await self.client.head_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=_checked(key))

    async def put(self, key: str, data: bytes) -> None:
        await self.client.put_object(Bucket=self.bucket, Key=_checked(key), Body=data)

    async def keys(self) -> list[str]:
        return [key for key, _ in await self.listing()]

    async def listing(self) -> list[tuple[str, datetime]]:
        found: list[tuple[str, datetime]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket):
            found.extend(
                (item["Key"], item["LastModified"])
                for item in page.get("Contents", [])
                if "Key" in item and "LastModified" in item and _KEY.match(item["Key"])
            )
        return sorted(found)


class S3Writer:
    def __init__(self, storage: S3Storage, key: str) -> None:
        self.storage, self.key = storage, key
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    async def _send_part(self, data: bytes) -> None:
        s3, bucket = self.storage.client, self.storage.bucket
        if self.upload_id is None:
            started = await s3.create_multipart_upload(Bucket=bucket, Key=self.key)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        sent = await s3.upload_part(
            Bucket=bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"ETag": sent["ETag"], "PartNumber": number})

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= self.storage.PART:
            data = bytes(self.buffer[: self.storage.PART])
            del self.buffer[: self.storage.PART]
            await self._send_part(data)

    async def commit(self) -> None:
        data, self.buffer = bytes(self.buffer), bytearray()
        if self.upload_id is None:  # a small file: one PUT
            await self.storage.put(self.key, data)
            return
        if data:
            await self._send_part(data)
        await self.storage.client.complete_multipart_upload(
            Bucket=self.storage.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},  # type: ignore[typeddict-item]
        )

    async def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            with contextlib.suppress(ClientError):
                await self.storage.client.abort_multipart_upload(
                    Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id
                )


@contextlib.asynccontextmanager
async def s3_storage(
    *,
    endpoint_url: str | None,
    region: str,
    bucket: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    create_bucket: bool,
) -> AsyncIterator[S3Storage]:
    session = get_session()
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    async with session.create_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    ) as client:
        if create_bucket:
            try:
                await client.head_bucket(Bucket=bucket)
            except ClientError:
                await client.create_bucket(Bucket=bucket)
        yield S3Storage(client, bucket)
