"""Keyset (cursor) pagination: ``?limit=&cursor=`` → ``{"items": [...], "next_cursor": ...}``.

A cursor is the last row's sort key, JSON in URL-safe base64. :func:`encode_cursor` writes one from
typed values; :func:`read_cursor` reads it back into the same types (aware timestamps, dates, UUIDs,
text, integers), and anything this API did not issue is the caller's error (422), never a 500.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from crmkit.problems import FieldError, Unprocessable

T = TypeVar("T")
Row = TypeVar("Row")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

KeyType = type[datetime] | type[date] | type[uuid.UUID] | type[str] | type[int]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """The cursor of a sort key (timestamps, dates and UUIDs as text)."""
    raw = json.dumps([_json(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> Unprocessable:
    return Unprocessable(
        "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
    )


def decode_cursor(cursor: str | None, *, arity: int) -> list[Any] | None:
    """The raw JSON values of a cursor with ``arity`` values (422 for anything else)."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise invalid_cursor()
    return values


def _typed(kind: KeyType, value: Any) -> Any:
    if kind is datetime:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment
    if kind is date:
        return date.fromisoformat(str(value))
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    if kind is int:
        # A bigint key: a larger number names no row of ours (and would overflow the query into a 500).
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
            raise ValueError("not a bigint")
        return value
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


def read_cursor(cursor: str | None, *kinds: KeyType) -> tuple[Any, ...] | None:
    """The typed sort key a cursor carries, one value per ``kinds`` (None on the first page)."""
    values = decode_cursor(cursor, arity=len(kinds))
    if values is None:
        return None
    try:
        return tuple(_typed(kind, value) for kind, value in zip(kinds, values, strict=True))
    except (TypeError, ValueError):
        raise invalid_cursor() from None


def page_of(
    rows: Sequence[Row], limit: int, *, key: Callable[[Row], Sequence[Any]], view: Callable[[Row], T]
) -> Page[T]:
    """The first ``limit`` rows (the query fetched one more to know whether a next page exists)."""
    rows, next_cursor = trim(rows, limit, key=key)
    return Page[T](items=[view(row) for row in rows], next_cursor=next_cursor)


def trim(
    rows: Sequence[Row], limit: int, *, key: Callable[[Row], Sequence[Any]]
) -> tuple[Sequence[Row], str | None]:
    """``rows`` cut to ``limit``, and the next page's cursor when there was one more."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(key(rows[-1]))


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50, max 200).")]
CursorQuery = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")]
