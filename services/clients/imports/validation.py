"""Each row checked by the same rules as a client created by hand, plus duplicates (keyed hashes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.crypto import FieldCipher
from services.clients.identifiers import lookup_hash
from services.clients.identity_documents import (
    TYPE_WORDS,
    DocumentChange,
    DocumentRejected,
    IdentityDocument,
    requested_document,
)
from services.clients.imports.reading import CsvRow
from services.clients.imports.schemas import RowError
from services.clients.models import Client
from services.clients.repository import live_and_visible
from services.clients.schemas import Channel, ClientCreate, Gender

GENDERS = {
    "male": Gender.MALE, "m": Gender.MALE, "男": Gender.MALE,
    "female": Gender.FEMALE, "f": Gender.FEMALE, "女": Gender.FEMALE,
    "undisclosed": Gender.UNDISCLOSED, "未知": Gender.UNDISCLOSED, "保密": Gender.UNDISCLOSED,
}  # fmt: skip
CHANNELS = {
    "warm_market": Channel.WARM_MARKET, "warmmarket": Channel.WARM_MARKET, "缘故": Channel.WARM_MARKET,
    "缘故市场": Channel.WARM_MARKET, "熟人": Channel.WARM_MARKET,
    "cold": Channel.COLD, "陌生": Channel.COLD, "陌拜": Channel.COLD, "陌生拜访": Channel.COLD,
    "online": Channel.ONLINE, "网络": Channel.ONLINE, "线上": Channel.ONLINE, "互联网": Channel.ONLINE,
}  # fmt: skip
REFERRAL_WORDS = {"referral", "转介绍", "转介"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$|^(\d{4})(\d{2})(\d{2})$")


@dataclass(frozen=True, slots=True)
class ValidRow:
    """A row that may become a client: its checked values and the keyed hashes of its identifiers."""

    number: int
    data: ClientCreate
    birth_date: date | None
    document: IdentityDocument | None
    resident_id_hmac: bytes | None
    """The identity document's keyed hash (over its ``lookup_key``), whatever its type."""
    phone_hmac: bytes | None


@dataclass
class Seen:
    """Identifiers already met earlier in the file (keyed hash → row number)."""

    resident_ids: dict[bytes, int] = field(default_factory=dict)
    phones: dict[bytes, int] = field(default_factory=dict)


def _birth_date(value: str) -> date:
    match = _DATE.match(value)
    if match is None:
        raise ValueError("use YYYY-MM-DD (or YYYY/MM/DD, YYYYMMDD)")
    parts = [int(p) for p in match.groups() if p is not None]
    return date(parts[0], parts[1], parts[2])


def _mapped(row: CsvRow, default_channel: Channel) -> tuple[dict[str, object], list[RowError]]:
    """Cells as ClientCreate fields (words such as 男 or 缘故 translated); empty cells left out."""
    errors: list[RowError] = []
    body: dict[str, object] = {k: v for k, v in row.cells.items() if v}
    if "gender" in body:
        gender = GENDERS.get(str(body["gender"]).casefold())
        if gender is None:
            errors.append(RowError(row=row.number, field="gender", message="use 男/女 or male/female"))
            body.pop("gender")
        else:
            body["gender"] = gender
    channel = str(body.get("channel", "")).casefold()
    if channel in REFERRAL_WORDS:
        errors.append(
            RowError(row=row.number, field="channel", message="a referral needs its referrer: add it by hand")
        )
        body.pop("channel")
    elif channel:
        known = CHANNELS.get(channel)
        if known is None:
            errors.append(
                RowError(
                    row=row.number, field="channel", message="use warm_market/缘故, cold/陌生 or online/网络"
                )
            )
            body.pop("channel")
        else:
            body["channel"] = known
    body.setdefault("channel", default_channel)
    if "id_document_type" in body:
        kind = TYPE_WORDS.get(str(body["id_document_type"]).strip().casefold())
        if kind is None:
            errors.append(
                RowError(
                    row=row.number,
                    field="id_document_type",
                    message="use resident_id/居民身份证, hk_mo_tw_residence_permit/港澳台居民居住证, "
                    "foreign_permanent_residence_id/外国人永久居留身份证 or passport/护照",
                )
            )
            body.pop("id_document_type")
        else:
            body["id_document_type"] = kind
    if (
        "resident_id" in body
        and "id_document_number" not in body
        and ("id_document_type" in body or "id_document_country" in body)
    ):
        # A 身份证号 column beside a type column is the number of that type.
        body["id_document_number"] = body.pop("resident_id")
    if "birth_date" in body:
        try:
            body["birth_date"] = _birth_date(str(body["birth_date"]))
        except ValueError as exc:
            errors.append(RowError(row=row.number, field="birth_date", message=str(exc)))
            body.pop("birth_date")
    if "occupation_class" in body:
        text = str(body["occupation_class"])
        if text.isdigit():
            body["occupation_class"] = int(text)
    return body, errors


def _as_client(row: CsvRow, body: dict[str, object], errors: list[RowError]) -> ClientCreate | None:
    """The cells validated as a client created by hand would be; each field's error added to ``errors``."""
    try:
        return ClientCreate.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "row"
            message = str(error["msg"]).removeprefix("Value error, ")
            errors.append(RowError(row=row.number, field=name, message=message))
        return None


def _document(row: CsvRow, data: ClientCreate, errors: list[RowError]) -> DocumentChange | None:
    """The row's identity document, checked by its type's rule (no type column: a resident ID)."""
    try:
        return requested_document(
            kind=data.id_document_type,
            number=data.id_document_number,
            country=data.id_document_country,
            resident_id=data.resident_id,
            given=set(data.model_fields_set),
        )
    except DocumentRejected as exc:
        errors.append(RowError(row=row.number, field=exc.field, message=exc.message))
        return None


def _checked_birth_date(
    row: CsvRow, data: ClientCreate, change: DocumentChange | None, today: date, errors: list[RowError]
) -> date | None:
    """The birth date the document carries (it must agree with a given one), never in the future."""
    birth = data.birth_date
    from_document = change.document.birth_date if change is not None and change.document else None
    if change is not None and from_document is not None:
        if from_document > today:
            errors.append(
                RowError(row=row.number, field=change.field, message="its birth date is in the future")
            )
        elif birth is not None and birth != from_document:
            errors.append(
                RowError(row=row.number, field="birth_date", message="does not match the identity document")
            )
        return from_document
    if birth is not None and birth > today:
        errors.append(RowError(row=row.number, field="birth_date", message="cannot be in the future"))
    return birth


def _repeated_in_file(
    row: CsvRow,
    rid_hmac: bytes | None,
    phone_hmac: bytes | None,
    seen: Seen,
    errors: list[RowError],
    document_field: str = "resident_id",
) -> None:
    """An identifier met on an earlier row of the file is an error; the first row to carry it is noted."""
    if rid_hmac is not None and rid_hmac in seen.resident_ids:
        errors.append(
            RowError(
                row=row.number,
                field=document_field,
                message=f"same identity document as row {seen.resident_ids[rid_hmac]} of this file",
            )
        )
    if phone_hmac is not None and phone_hmac in seen.phones:
        errors.append(
            RowError(
                row=row.number,
                field="phone",
                message=f"same phone as row {seen.phones[phone_hmac]} of this file",
            )
        )
    if rid_hmac is not None:
        seen.resident_ids.setdefault(rid_hmac, row.number)
    if phone_hmac is not None:
        seen.phones.setdefault(phone_hmac, row.number)


def check_row(
    row: CsvRow,
    *,
    cipher: FieldCipher,
    consent_text_version: str | None,
    default_channel: Channel,
    today: date,
    seen: Seen,
) -> tuple[ValidRow | None, list[RowError]]:
    """The row ready to insert, or its errors (every field's, not only the first)."""
    body, errors = _mapped(row, default_channel)
    if ("resident_id" in body or "id_document_number" in body or "phone" in body) and consent_text_version:
        body["consent"] = {"purpose": "personal_data", "text_version": consent_text_version}
    data = _as_client(row, body, errors)
    if data is None:
        return None, errors
    change = _document(row, data, errors)
    document = change.document if change is not None else None
    birth = _checked_birth_date(row, data, change, today, errors)
    rid_hmac = lookup_hash(cipher, "resident_id", document.lookup_key) if document else None
    phone_hmac = lookup_hash(cipher, "phone", data.phone) if data.phone else None
    field = change.field if change is not None else "resident_id"
    _repeated_in_file(row, rid_hmac, phone_hmac, seen, errors, field)
    if errors:
        return None, errors
    return ValidRow(row.number, data, birth, document, rid_hmac, phone_hmac), []


async def existing_duplicates(
    *, session: AsyncSession, principal: Principal, rows: list[ValidRow]
) -> tuple[list[ValidRow], list[RowError]]:
    """Rows whose resident ID or phone a live client in the caller's scope already has are errors."""
    rids = [r.resident_id_hmac for r in rows if r.resident_id_hmac is not None]
    phones = [r.phone_hmac for r in rows if r.phone_hmac is not None]
    taken_rids: set[bytes] = set()
    taken_phones: set[bytes] = set()
    scope = live_and_visible(principal)
    for start in range(0, len(rids), 1000):
        found = await session.execute(
            select(col(Client.resident_id_hmac)).where(
                col(Client.resident_id_hmac).in_(rids[start : start + 1000]), *scope
            )
        )
        taken_rids.update(h for h in found.scalars() if h is not None)
    for start in range(0, len(phones), 1000):
        found = await session.execute(
            select(col(Client.phone_hmac)).where(
                col(Client.phone_hmac).in_(phones[start : start + 1000]), *scope
            )
        )
        taken_phones.update(h for h in found.scalars() if h is not None)
    kept: list[ValidRow] = []
    errors: list[RowError] = []
    for row in rows:
        clash = False
        if row.resident_id_hmac is not None and row.resident_id_hmac in taken_rids:
            errors.append(
                RowError(
                    row=row.number,
                    field="resident_id"
                    if "resident_id" in row.data.model_fields_set
                    else "id_document_number",
                    message="a client with this identity document exists",
                )
            )
            clash = True
        if row.phone_hmac is not None and row.phone_hmac in taken_phones:
            errors.append(RowError(row=row.number, field="phone", message="a client with this phone exists"))
            clash = True
        if not clash:
            kept.append(row)
    return kept, errors
