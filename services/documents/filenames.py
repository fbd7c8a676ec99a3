"""Filenames as labels only: sanitised for display and for Content-Disposition, never a path.

Objects are stored under a random key; the name a phone sent is kept (encrypted, it may name a
person) only to be shown and offered back on download.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME = 120
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|;]+")
_DOTS = re.compile(r"^[.\s]+|[.\s]+$")


def sanitise(raw: str | None, *, extension: str) -> str:
    """The last path segment, without control characters, separators, leading dots or spaces, at
    most ``MAX_NAME`` characters, ending in the sniffed type's extension; ``document.<ext>`` when
    nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name)
    name = _DOTS.sub("", name)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _DOTS.sub("", stem)[: MAX_NAME - len(extension) - 1] or "document"
    return f"{stem}.{extension}"


def is_traversal(raw: str | None) -> bool:
    """A name that tries to climb or name a directory (``../../etc/passwd``, ``C:\\x``, ``/abs``):
    refused outright rather than silently renamed, so the caller learns the name was bad."""
    if not raw:
        return False
    parts = re.split(r"[/\\]", raw)
    return len(parts) > 1 or raw.strip() in (".", "..") or bool(re.match(r"^[A-Za-z]:", raw))


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266, RFC 8187)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
