"""The caller's clients as CSV, streamed in keyset batches (no giant string for 100k rows)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.crypto import FieldCipher
from crmkit.csv import cell, document
from crmkit.problems import FieldError, Forbidden, Unprocessable
from services.clients.identifiers import unseal
from services.clients.models import Client
from services.clients.repository import live_and_visible
from services.clients.trail import record_change

BATCH_ROWS = 1000
COLUMNS = (
    "id",
    "name",
    "gender",
    "birth_date",
    "id_document_type",
    "id_document_number",
    "id_document_country",
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


def _written(rows: Iterable[Sequence[str]]) -> bytes:
    """Rows of ready cell texts as CSV lines (CRLF), like ``crmkit.csv.lines`` but without re-reading
    the cells: the phone column must keep its leading ``+``."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def _cells(client: Client, cipher: FieldCipher | None) -> list[str]:
    """One row, each cell through ``crmkit.csv.cell`` (formulas neutralised) but the phone: that is
    ours, E.164 normalised (``+`` and digits, masked or not), which no spreadsheet runs as a formula.
    Identifiers are decrypted only for a revealed export (``cipher`` given)."""
    document_number = unseal(client, cipher, "resident_id") if cipher else client.resident_id_masked
    phone = unseal(client, cipher, "phone") if cipher else client.phone_masked
    return [
        cell(client.id),
        cell(client.name),
        cell(client.gender),
        cell(client.birth_date),
        cell(client.id_document_type),
        cell(document_number),
        cell(client.id_document_country),
        phone or "",
        cell(client.occupation),
        cell(client.occupation_class),
        cell(client.channel),
        cell(client.referred_by_client_id),
        cell(client.tier),
        cell(client.next_follow_up_on),
        cell(client.owner_agent_id),
        cell(client.created_at),
    ]


async def revealing_cipher(
    *, session: AsyncSession, principal: Principal, reveal: bool, reason: str | None, cipher: FieldCipher
) -> FieldCipher | None:
    """The cipher for a revealed export (its audit row written first), or None for a masked one."""
    if not reveal:
        return None
    if not reason or not reason.strip():
        raise Unprocessable(
            "say why the identifiers are revealed",
            errors=[FieldError(field="reason", message="required with reveal=true")],
        )
    if not principal.allows("clients:reveal"):
        raise Forbidden("this API key lacks the 'clients:reveal' scope")
    await record_reveal(session=session, principal=principal, reason=reason.strip())
    return cipher


async def record_reveal(*, session: AsyncSession, principal: Principal, reason: str) -> uuid.UUID:
    """One audit row per revealed export: who, why, which fields (the values never)."""
    export_id = uuid.uuid4()
    await record_change(
        session,
        principal,
        action="client.identifier_revealed",  # a read, never an event (services.clients.changes.PUBLICATION)
        resource_type="client_export",
        resource_id=export_id,
        after={"fields": ["id_document_number", "phone"], "reason": reason},
    )
    return export_id


async def stream_clients(
    *, sessions: async_sessionmaker[AsyncSession], principal: Principal, cipher: FieldCipher | None
) -> AsyncIterator[bytes]:
    """Header, then batches newest first on the scope's keyset index, each from a short session."""
    yield document(COLUMNS, [])
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
            yield _written(_cells(c, cipher) for c in batch)
        if len(batch) < BATCH_ROWS:
            return
        after = (batch[-1].created_at, batch[-1].id)
