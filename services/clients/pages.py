"""A page of the client list as the bytes ``ClientPage`` would give, written straight from the rows.

The list's rows are the table's shown columns (``repository.SHOWN_COLUMNS``), already of the
types the response model holds: building a ``ClientRead`` per row only to serialise it again was
half of a page's CPU (fifty validations of 21 fields, then asyncpg's UUIDs, a subclass pydantic's
serializer takes the slow way for). Here each row becomes a dict in ``ClientRead``'s field order,
UUIDs as text, and the page is encoded once by pydantic-core (the same encoder, so the same dates,
``Z`` timestamps, nulls and escapes). ``tests/test_clients_page_bytes.py`` holds the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json
from sqlalchemy.engine import Row

from services.clients.identifiers import masked_resident_id


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _item(row: Sequence[Any]) -> dict[str, Any]:
    # Unpacked in ``repository.SHOWN_COLUMNS``' order; the dict in ``ClientRead``'s.
    (
        id_,
        name,
        gender,
        birth_date,
        document,
        number,
        country,
        phone,
        occupation,
        occupation_class,
        channel,
        referred_by,
        notes,
        tier,
        follow_up,
        owner,
        team,
        version,
        created_at,
        updated_at,
    ) = row
    return {
        "id": str(id_),
        "name": name,
        "gender": gender,
        "birth_date": birth_date,
        "id_document_type": document,
        "id_document_number": number,
        "id_document_country": country,
        "resident_id": masked_resident_id(document, number),
        "phone": phone,
        "occupation": occupation,
        "occupation_class": occupation_class,
        "channel": channel,
        "referred_by_client_id": _text(referred_by),
        "notes": notes,
        "tier": tier,
        "next_follow_up_on": follow_up,
        "owner_agent_id": str(owner),
        "team_id": _text(team),
        "version": version,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def page_json(rows: Sequence[Row[Any]], next_cursor: str | None) -> bytes:
    """``ClientPage(items=[to_read(row) ...], next_cursor=...)``'s JSON, from the shown rows."""
    return to_json({"items": [_item(row) for row in rows], "next_cursor": next_cursor})
