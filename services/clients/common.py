"""What the clients service's subdomains share: money fields, keyset pages, audit, singleton versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, PlainSerializer, StringConstraints
from sqlalchemy import ColumnElement, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from crmkit import audit
from crmkit.auth import Principal
from crmkit.crypto import FieldCipher
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import FieldError, Unprocessable
from services.clients.errors import RecordNotFound
from services.clients.models import infra_tables


@dataclass(frozen=True, slots=True)
class Tools:
    """What the rules need beyond the session: the field cipher and the business time zone."""

    cipher: FieldCipher
    zone: ZoneInfo

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)


def _no_binary_floats(value: object) -> object:
    """A float has already lost cents on the way in (0.1 + 0.2); money comes as a decimal string."""
    if isinstance(value, bool | float):
        raise ValueError('send money as a decimal string, e.g. "12345.67"')
    return value


def _two_places(value: Decimal) -> str:
    return f"{value:.2f}"


Money = Annotated[
    Decimal,
    BeforeValidator(_no_binary_floats),
    Field(ge=0, max_digits=14, decimal_places=2, description='CNY as a decimal string, e.g. "12345.67".'),
    PlainSerializer(_two_places, return_type=str, when_used="json"),
]
"""A non-negative amount in CNY: a decimal string (or an integer) in, a two-place string out."""

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def read_cursor(cursor: str | None, *, arity: int = 2) -> list[Any] | None:
    """A keyset cursor whose last two values are an aware timestamp and a UUID (422 otherwise)."""
    values = decode_cursor(cursor, arity=arity)
    if values is None:
        return None
    try:
        stamp = datetime.fromisoformat(str(values[-2]))
        row_id = uuid.UUID(str(values[-1]))
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise Unprocessable(
            "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
        )
    return [*values[:-2], stamp, row_id]


M = TypeVar("M", bound=SQLModel)


async def newest_first(
    *,
    session: AsyncSession,
    model: type[M],
    conditions: Sequence[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
    stamp: str = "created_at",
) -> tuple[list[M], str | None]:
    """One keyset page ordered by ``(stamp, id)`` descending, and the cursor of the next one."""
    stamp_column: Any = getattr(model, stamp)
    id_column: Any = getattr(model, "id")  # noqa: B009 - generic over the subdomain's models
    after = read_cursor(cursor)
    where = list(conditions)
    if after is not None:
        where.append(tuple_(stamp_column, id_column) < tuple_(literal(after[0]), literal(after[1])))
    stmt = select(model).where(*where).order_by(stamp_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, stamp).isoformat(), str(getattr(last, "id"))])  # noqa: B009


async def record_change(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit row in the request's transaction (values already masked and JSON-ready)."""
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Changed fields only, bookkeeping left out."""
    old, new = audit.changed_fields(before, after)
    for bookkeeping in ("version", "updated_at"):
        old.pop(bookkeeping, None)
        new.pop(bookkeeping, None)
    return old, new


async def child_of(
    *,
    session: AsyncSession,
    model: type[M],
    row_id: uuid.UUID,
    client_id: uuid.UUID,
    what: str,
    for_update: bool = False,
) -> M:
    """A record of this client (the client itself already checked in scope), or the same 404."""
    table_id: Any = getattr(model, "id")  # noqa: B009 - generic over the subdomain's models
    table_client: Any = getattr(model, "client_id")  # noqa: B009
    stmt = select(model).where(table_id == row_id, table_client == client_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise RecordNotFound(what)
    return row
