"""Deprecating an operation within a version: ``deprecated: true`` in OpenAPI, and on every answer
``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594) once the end is set, and a ``Link`` to the notes.

    @router.get("/old-report", **deprecated(since=datetime(2027, 1, 1, tzinfo=UTC), sunset=..., notes="/..."))

docs/api.md ("Versioning and deprecation") is the promise this keeps.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Response


def deprecation_headers(
    since: datetime, *, sunset: datetime | None = None, notes: str | None = None
) -> dict[str, str]:
    """The headers of a deprecated operation's answers."""
    if since.tzinfo is None or (sunset is not None and sunset.tzinfo is None):
        raise ValueError("deprecation dates must be timezone-aware")
    headers = {"Deprecation": f"@{int(since.timestamp())}"}
    if sunset is not None:
        headers["Sunset"] = format_datetime(sunset, usegmt=True)
    if notes is not None:
        headers["Link"] = f'<{notes}>; rel="deprecation"'
    return headers


def deprecated(
    since: datetime, *, sunset: datetime | None = None, notes: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for a route decorator that deprecate the operation."""
    headers = deprecation_headers(since, sunset=sunset, notes=notes)

    async def announce(response: Response) -> None:
        response.headers.update(headers)

    return {"deprecated": True, "dependencies": [Depends(announce)]}
