"""The webhook signature: ``X-CRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The MAC is over ``f"{t}.".encode() + body`` (the exact bytes sent), keyed by the subscription's
secret; receivers recompute it, compare in constant time, and refuse old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-CRM-Signature"
TIMESTAMP_HEADER = "X-CRM-Timestamp"
EVENT_ID_HEADER = "X-CRM-Event-Id"
EVENT_TYPE_HEADER = "X-CRM-Event-Type"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300, now: float | None = None
) -> bool:
    """What a receiver does (the snippet in docs/events-and-sync.md)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
