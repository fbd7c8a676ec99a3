"""Personal-data field encryption: AES-256-GCM, plus a keyed HMAC for exact-match lookup."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_FORMAT_V1 = b"\x01"
_NONCE_BYTES = 12


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class FieldCipher:
    """Encrypts one field value at a time; ``context`` (e.g. ``clients.resident_id``) is bound as
    associated data, so a ciphertext copied into another column does not decrypt."""

    def __init__(self, master_key_b64: str) -> None:
        master = base64.urlsafe_b64decode(master_key_b64.encode())
        self._aead = AESGCM(_derive(master, b"crm field encryption v1"))
        self._hmac_key = _derive(master, b"crm field lookup hmac v1")

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        if blob[:1] != _FORMAT_V1:
            raise ValueError("unknown ciphertext format")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode()

    def lookup_hash(self, normalised: str, *, context: str) -> bytes:
        """Deterministic keyed digest of a normalised value, for ``WHERE x_hmac = :digest``."""
        return hmac.new(
            self._hmac_key, context.encode() + b"\x00" + normalised.encode(), hashlib.sha256
        ).digest()


def mask_middle(value: str, *, keep_start: int, keep_end: int, fill: str = "*") -> str:
    """``110101199003071234`` → ``110***********1234``; short values are masked whole."""
    if len(value) <= keep_start + keep_end:
        return fill * len(value)
    return value[:keep_start] + fill * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]
