"""A page of the client list as the bytes ``ClientPage`` would give, written by PostgreSQL.

Building the page in Python from the rows cost a quarter of the clients app's CPU per page:
asyncpg decoding 51 x 20 values, then a dict per row for pydantic-core to encode. Here the page's
statement writes every item itself (``row_to_json`` over ``ClientRead``'s fields in its order,
joined by ``string_agg``), so the app receives one value per page (UTF-8 bytes) and only wraps it in
``{"items":[...],"next_cursor":...}``.

PostgreSQL's JSON is pydantic-core's for every field once each has the form the model shows:
compact separators (``row_to_json``; ``json_agg`` and ``json_build_object`` put spaces in), the
same string escapes (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, ``\\u00xx`` for the other control
characters, everything else as it is in UTF-8), ISO dates (whatever the ``DateStyle``), bare
integers, UUIDs as their text, and timestamps as ``_utc_text`` writes them.
``tests/test_clients_page_bytes.py`` holds the two equal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    LargeBinary,
    Select,
    Subquery,
    Text,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from services.clients.identity_documents import IdentityDocumentType

ROW_NUMBER = "page_row"
"""The column numbering a page's rows in the list's order, from 1 (``page_select`` reads it)."""

CURSOR_COLUMNS = ("tier", "next_follow_up_on", "created_at", "id")
"""The last shown row's columns a next page's cursor is made of (``service._cursor_key``)."""

_UTC_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _constant(sql: str, type_: Any = Text) -> ColumnElement[Any]:
    """A constant written into the statement rather than a parameter (the statement is built once)."""
    return literal_column(sql, type_)


def _utc_text(moment: ColumnElement[Any]) -> ColumnElement[str]:
    """A ``timestamptz`` as pydantic writes an aware UTC datetime: ``2026-11-02T09:15:00Z``, or
    ``2026-11-02T09:15:00.120000Z`` (all six digits) when it has microseconds; in UTC whatever
    the session's time zone."""
    stamp = func.to_char(func.timezone(_constant("'UTC'"), moment), _constant(_UTC_FORMAT))
    return func.replace(stamp, _constant("'.000000Z'"), _constant("'Z'"))


def _item(page: Any) -> list[ColumnElement[Any]]:
    """``ClientRead``'s fields, in its order and by its names, from a row of ``repository.SHOWN_COLUMNS``."""
    resident_id = _constant(f"'{IdentityDocumentType.RESIDENT_ID.value}'")
    return [
        page.id,
        page.name,
        page.gender,
        page.birth_date,
        page.id_document_type,
        page.resident_id_masked.label("id_document_number"),
        page.id_document_country,
        # ``identifiers.masked_resident_id``: the masked number when the document is a resident ID.
        case((page.id_document_type == resident_id, page.resident_id_masked)).label("resident_id"),
        page.phone_masked.label("phone"),
        page.occupation,
        page.occupation_class,
        page.channel,
        page.referred_by_client_id,
        page.notes,
        page.tier,
        page.next_follow_up_on,
        page.owner_agent_id,
        page.team_id,
        page.version,
        _utc_text(page.created_at).label("created_at"),
        _utc_text(page.updated_at).label("updated_at"),
    ]


def page_select(rows: Subquery, limit: int) -> Select[Any]:
    """One row for a page, from its statement's ``limit + 1`` rows numbered by ``ROW_NUMBER``:

    - ``items``: the JSON of the first ``limit`` rows in order, joined by commas, in UTF-8 (null
      for none);
    - ``rows``: how many rows there were (``limit + 1`` when there is a next page);
    - ``CURSOR_COLUMNS``: those of the row numbered ``limit``, of the columns' own types.
    """
    page = rows.c
    item = select(*_item(page)).correlate(rows).lateral("item")
    number = page[ROW_NUMBER]
    shown = number <= _constant(str(limit), Integer)
    items = func.string_agg(
        cast(func.row_to_json(item.table_valued()), Text), aggregate_order_by(_constant("','"), number)
    ).filter(shown)
    # As UTF-8 bytes (``bytea``), the response's own: as text the driver decoded it into a ``str``
    # only for the page to encode it back, a tenth of a millisecond for a page of 50.
    items_utf8 = func.convert_to(items, _constant("'UTF8'"), type_=LargeBinary)
    last = number == _constant(str(limit), Integer)
    first = _constant("1", Integer)
    cursor = [func.array_agg(page[name]).filter(last)[first].label(name) for name in CURSOR_COLUMNS]
    return select(items_utf8.label("items"), func.count().label("rows"), *cursor).select_from(
        rows.join(item, true())
    )


def page_json(items: bytes | None, next_cursor: str | None) -> bytes:
    """``ClientPage(items=..., next_cursor=...)``'s JSON around the items PostgreSQL wrote (a cursor
    is URL-safe base64: nothing in it to escape)."""
    cursor = b"null" if next_cursor is None else b'"' + next_cursor.encode() + b'"'
    return b'{"items":[' + (items or b"") + b'],"next_cursor":' + cursor + b"}"
