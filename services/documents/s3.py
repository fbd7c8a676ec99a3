"""The S3 backend of the object store (services/documents/storage.py): one bucket of any
S3-compatible store (MinIO in docker-compose, AWS S3...) through aiobotocore.

Imported by the documents app only when ``storage_backend`` is ``s3``: aiobotocore and botocore
cost the documents process ~13 MB of RSS, for nothing on the local backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from services.documents.storage import KEY, READ_CHUNK, ObjectMissing, checked_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


class S3Storage:
    """One bucket; uploads as S3 multipart uploads of ``PART`` bytes (the last may be smaller), so
    memory holds at most one part whatever the file's size."""

    name = "s3"
    PART = 8 * 1024 * 1024

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def writer(self, key: str) -> S3Writer:
        return S3Writer(self, checked_key(key))

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            answer = await self.client.get_object(Bucket=self.bucket, Key=checked_key(key))
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
            head = await self.client.head_object(Bucket=self.bucket, Key=checked_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=checked_key(key))

    async def put(self, key: str, data: bytes) -> None:
        await self.client.put_object(Bucket=self.bucket, Key=checked_key(key), Body=data)

    async def keys(self) -> list[str]:
        return [key for key, _ in await self.listing()]

    async def listing(self) -> list[tuple[str, datetime]]:
        found: list[tuple[str, datetime]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket):
            found.extend(
                (item["Key"], item["LastModified"])
                for item in page.get("Contents", [])
                if "Key" in item and "LastModified" in item and KEY.match(item["Key"])
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
