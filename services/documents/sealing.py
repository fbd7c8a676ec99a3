"""Envelope encryption of a file, as a stream: one random data key per file, sealed with the
deployment's field key (``crmkit.crypto.FieldCipher``), and the content in AES-256-GCM segments.

Segment ``i`` of a file is ``AESGCM(data_key).encrypt(prefix ‖ i, plaintext, aad)`` with
``aad = object key ‖ i ‖ final flag``: a segment moved, dropped, swapped between files or a file
cut short does not open. A SHA-256 of the plaintext is stored beside the row and checked again on
every read, so a tampered or swapped object is caught even if its key material were reused.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crmkit.crypto import FieldCipher

SEGMENT = 64 * 1024
TAG = 16
SEALED_SEGMENT = SEGMENT + TAG
_PREFIX_BYTES = 8


class IntegrityError(Exception):
    """The stored object does not open, or opens to other bytes than were stored."""


@dataclass(frozen=True, slots=True)
class DataKey:
    key: bytes
    prefix: bytes

    @classmethod
    def new(cls) -> DataKey:
        return cls(AESGCM.generate_key(bit_length=256), os.urandom(_PREFIX_BYTES))

    def wrap(self, cipher: FieldCipher, *, object_key: str) -> bytes:
        """The data key sealed with the field key, bound to its object."""
        material = base64.b64encode(self.key + self.prefix).decode()
        return cipher.encrypt(material, context=f"documents.data_key:{object_key}")

    @classmethod
    def unwrap(cls, cipher: FieldCipher, sealed: bytes, *, object_key: str) -> DataKey:
        try:
            raw = base64.b64decode(cipher.decrypt(sealed, context=f"documents.data_key:{object_key}"))
        except (InvalidTag, ValueError) as exc:
            raise IntegrityError("the data key does not open") from exc
        return cls(raw[:32], raw[32:])


def _nonce(key: DataKey, index: int) -> bytes:
    return key.prefix + struct.pack(">I", index)


def _aad(object_key: str, index: int, final: bool) -> bytes:
    return object_key.encode() + struct.pack(">IB", index, 1 if final else 0)


class Sealer:
    """Feed plaintext in any chunk sizes; get sealed segments back; ``finish`` seals the last one."""

    def __init__(self, key: DataKey, *, object_key: str) -> None:
        self._aead = AESGCM(key.key)
        self._key = key
        self._object_key = object_key
        self._pending = bytearray()
        self._index = 0
        self.digest = hashlib.sha256()
        self.size = 0

    def _seal(self, plain: bytes, *, final: bool) -> bytes:
        sealed = self._aead.encrypt(
            _nonce(self._key, self._index), plain, _aad(self._object_key, self._index, final)
        )
        self._index += 1
        return sealed

    def update(self, chunk: bytes) -> bytes:
        self.digest.update(chunk)
        self.size += len(chunk)
        self._pending += chunk
        out = bytearray()
        # Keep at least one byte back, so the final segment is never empty unless the file is.
        while len(self._pending) > SEGMENT:
            out += self._seal(bytes(self._pending[:SEGMENT]), final=False)
            del self._pending[:SEGMENT]
        return bytes(out)

    def finish(self) -> bytes:
        sealed = self._seal(bytes(self._pending), final=True)
        self._pending.clear()
        return sealed


def sealed_size(plain_size: int) -> int:
    segments = max(1, -(-plain_size // SEGMENT))
    return plain_size + segments * TAG


async def open_stream(
    chunks: AsyncIterator[bytes], key: DataKey, *, object_key: str, sealed_length: int, sha256: bytes
) -> AsyncIterator[bytes]:
    """The plaintext, segment by segment; ``IntegrityError`` as soon as a segment fails, and at the
    end if the whole does not hash to ``sha256`` (or the object is longer or shorter than stored)."""
    aead = AESGCM(key.key)
    segments = max(1, -(-sealed_length // SEALED_SEGMENT))
    digest = hashlib.sha256()
    buffer = bytearray()
    index = 0
    seen = 0

    def open_one(sealed: bytes) -> bytes:
        nonlocal index
        final = index == segments - 1
        try:
            plain = aead.decrypt(_nonce(key, index), sealed, _aad(object_key, index, final))
        except InvalidTag as exc:
            raise IntegrityError(f"segment {index} does not open") from exc
        index += 1
        digest.update(plain)
        return plain

    async for chunk in chunks:
        seen += len(chunk)
        if seen > sealed_length:
            raise IntegrityError("the object is longer than stored")
        buffer += chunk
        while len(buffer) >= SEALED_SEGMENT and index < segments - 1:
            plain = open_one(bytes(buffer[:SEALED_SEGMENT]))
            del buffer[:SEALED_SEGMENT]
            yield plain
    if seen != sealed_length or index != segments - 1:
        raise IntegrityError("the object is shorter than stored")
    plain = open_one(bytes(buffer))
    if digest.digest() != sha256:
        raise IntegrityError("the content does not match its SHA-256")
    yield plain
