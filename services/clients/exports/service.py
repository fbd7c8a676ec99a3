"""The caller's clients as CSV, streamed in keyset batches (no giant string for 100k rows)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.crypto import FieldCipher
from services.clients.common import record_change
from services.clients.identifiers import unseal
from services.clients.models import Client
from services.clients.repository import live_and_visible

BATCH_ROWS = 1000
UTF8_BOM = "\ufeff"  # so spreadsheet programs read the Chinese names as UTF-8
COLUMNS = (
    "id",
    "name",
    "gender",
    "birth_date",
    "resident_id",
    "phone",
    "occupation",
    "occupation_class",
    "channel",
    "referred_by_client_id",
    "tier",
    "next_follow_up_on",
    "owner_agent_id",
    "created_at",
)


def _csv_lines(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _cells(client: Client, cipher: FieldCipher | None) -> list[Any]:
    """One row; identifiers decrypted only for a revealed export (``cipher`` given)."""
    resident_id = unseal(client, cipher, "resident_id") if cipher else client.resident_id_masked
    phone = unseal(client, cipher, "phone") if cipher else client.phone_masked
    return [
        client.id,
        client.name,
        client.gender,
        client.birth_date.isoformat() if client.birth_date else "",
        resident_id or "",
        phone or "",
        client.occupation or "",
        client.occupation_class or "",
        client.channel,
        client.referred_by_client_id or "",
        client.tier or "",
        client.next_follow_up_on.isoformat() if client.next_follow_up_on else "",
        client.owner_agent_id,
        client.created_at.isoformat(),
    ]


async def record_reveal(*, session: AsyncSession, principal: Principal, reason: str) -> uuid.UUID:
    """One audit row per revealed export: who, why, which fields (the values never)."""
    export_id = uuid.uuid4()
    await record_change(
        session,
        principal,
        action="client.identifier_revealed",  # a read, never an event (services.clients.changes.PUBLICATION)
        resource_type="client_export",
        resource_id=export_id,
        after={"fields": ["resident_id", "phone"], "reason": reason},
    )
    return export_id


async def stream_clients(
    *, sessions: async_sessionmaker[AsyncSession], principal: Principal, cipher: FieldCipher | None
) -> AsyncIterator[bytes]:
    """Header, then batches newest first on the scope's keyset index, each from a short session."""
    yield (UTF8_BOM + _csv_lines([COLUMNS])).encode()
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = select(Client).where(*live_and_visible(principal))
        if after is not None:
            stmt = stmt.where(
                tuple_(col(Client.created_at), col(Client.id)) < tuple_(literal(after[0]), literal(after[1]))
            )
        stmt = stmt.order_by(col(Client.created_at).desc(), col(Client.id).desc()).limit(BATCH_ROWS)
        async with sessions() as session:
            batch = list((await session.execute(stmt)).scalars())
        if batch:
            yield _csv_lines([_cells(c, cipher) for c in batch]).encode()
        if len(batch) < BATCH_ROWS:
            return
        after = (batch[-1].created_at, batch[-1].id)
