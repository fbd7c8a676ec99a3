"""Keyset cursors for the claims lists: the last row's sort key, checked on the way back in."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from crmkit.pagination import Page, decode_cursor, encode_cursor
from crmkit.problems import FieldError, Unprocessable

KeyKind = Literal["datetime", "date", "uuid", "int"]
Row = TypeVar("Row")
Item = TypeVar("Item")


def _parse(kind: KeyKind, value: Any) -> Any:
    if kind == "datetime":
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment
    if kind == "date":
        return date.fromisoformat(str(value))
    if kind == "uuid":
        return uuid.UUID(str(value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def read_cursor(cursor: str | None, *kinds: KeyKind) -> tuple[Any, ...] | None:
    """The sort key a cursor carries; anything this API did not issue is a 422, never a 500."""
    values = decode_cursor(cursor, arity=len(kinds))
    if values is None:
        return None
    try:
        return tuple(_parse(kind, value) for kind, value in zip(kinds, values, strict=True))
    except (TypeError, ValueError):
        raise Unprocessable(
            "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
        ) from None


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def page_of(
    rows: Sequence[Row], limit: int, *, key: Callable[[Row], Sequence[Any]], view: Callable[[Row], Item]
) -> Page[Item]:
    """The first ``limit`` rows (the query fetched one more to know whether a next page exists)."""
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([_json(v) for v in key(rows[-1])])
    return Page[Item](items=[view(row) for row in rows], next_cursor=next_cursor)
