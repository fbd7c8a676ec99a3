"""Queries on the client record; never commits (the request's session does)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel, col

from crmkit.audit import Along
from crmkit.auth import Principal
from crmkit.driver_sql import DriverSql, driver_sql
from crmkit.pagination import read_cursor, trim
from crmkit.scope import SCOPE_PARAMETER, Reach, owner_scope, reach, reach_predicate, scope_parameter
from services.clients import pages
from services.clients.errors import RecordNotFound
from services.clients.models import Client, ClientRecord
from services.clients.schemas import ClientSort

M = TypeVar("M", bound=SQLModel)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Object-level scope: the client's owner agent, the team lead's team, or everyone for an admin."""
    return owner_scope(principal, owner=col(Client.owner_agent_id), team=col(Client.team_id))


def live_and_visible(principal: Principal) -> list[ColumnElement[bool]]:
    return [col(Client.deleted_at).is_(None), visible_to(principal)]


def _visible_by_id_where(kind: Reach) -> list[ColumnElement[bool]]:
    """The by-id lookup of one reach, with placeholders (run with ``_by_id_parameters``), on the
    table's columns: the same criteria serve the model's select and the plain row's."""
    c = Client.__table__.c  # type: ignore[attr-defined]
    return [
        c.id == bindparam("client_id"),
        c.deleted_at.is_(None),
        reach_predicate(kind, owner=c.owner_agent_id, team=c.team_id, value=scope_parameter()),
    ]


def _by_id_parameters(principal: Principal, client_id: uuid.UUID) -> tuple[Reach, dict[str, Any]]:
    kind, scope_id = reach(principal)
    return kind, {"client_id": client_id, SCOPE_PARAMETER: scope_id}


@functools.cache
def _visible_by_id(kind: Reach, for_update: bool) -> Select[Client]:
    """The by-id lookup of one reach as a model, built once (the hottest read: building the
    expression cost a tenth of a GET's CPU)."""
    stmt = select(Client).where(*_visible_by_id_where(kind))
    return stmt.with_for_update() if for_update else stmt


SHOWN_COLUMNS = (
    "id", "name", "gender", "birth_date", "id_document_type", "resident_id_masked", "id_document_country",
    "phone_masked", "occupation", "occupation_class", "channel", "referred_by_client_id", "notes", "tier",
    "next_follow_up_on", "owner_agent_id", "team_id", "version", "created_at", "updated_at",
)  # fmt: skip
"""The columns a read shows (``service.to_read``; a page's cursor takes the sort keys among them):
a row for showing leaves the sealed identifiers, their lookup hashes and the bookkeeping behind."""


def _shown_columns() -> list[ColumnElement[Any]]:
    c = Client.__table__.c  # type: ignore[attr-defined]
    return [c[name] for name in SHOWN_COLUMNS]


@functools.cache
def _visible_row_by_id(kind: Reach) -> Select[Any]:
    """The same lookup on the table's shown columns rather than the model: a plain row, without
    the ORM's instance state and identity map (a sixth of GET by id's CPU). For reads that only
    show it."""
    return select(*_shown_columns()).where(*_visible_by_id_where(kind))


async def read_visible(
    *, connection: AsyncConnection, principal: Principal, client_id: uuid.UUID
) -> Row[Any] | None:
    """The live client in the caller's scope as a read-only row (``service.to_read`` takes it)."""
    kind, parameters = _by_id_parameters(principal, client_id)
    row: Row[Any] | None = (await connection.execute(_visible_row_by_id(kind), parameters)).one_or_none()
    return row


async def get_visible(
    *, session: AsyncSession, principal: Principal, client_id: uuid.UUID, for_update: bool = False
) -> Client | None:
    """One indexed lookup; ``for_update`` locks the row so If-Match cannot race another writer."""
    kind, parameters = _by_id_parameters(principal, client_id)
    return (await session.execute(_visible_by_id(kind, for_update), parameters)).scalar_one_or_none()


async def exists_visible(*, session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> bool:
    stmt = select(literal(1)).where(col(Client.id) == client_id, *live_and_visible(principal))
    return (await session.execute(stmt)).first() is not None


@dataclass(frozen=True, slots=True)
class ClientFilters:
    owner_agent_id: uuid.UUID | None = None
    tier: str | None = None
    channel: str | None = None
    name_prefix: str | None = None
    phone_hmac: bytes | None = None
    resident_id_hmac: bytes | None = None
    follow_up_due_by: date | None = None


@dataclass(frozen=True, slots=True)
class SortKey:
    """Where the previous page ended: the sort's own key (none for ``recent``), then the tie-breakers."""

    key: Any
    created_at: datetime
    id: uuid.UUID


NO_TIER = "Z"  # sorts after C: unassessed clients come last in the tier order
NO_FOLLOW_UP = date(9999, 12, 31)


def _sort_column(sort: ClientSort) -> ColumnElement[Any] | None:
    if sort is ClientSort.TIER:
        return func.coalesce(col(Client.tier), literal(NO_TIER))
    if sort is ClientSort.FOLLOW_UP:
        return func.coalesce(col(Client.next_follow_up_on), literal(NO_FOLLOW_UP))
    return None


def sort_value(client: ClientRecord, sort: ClientSort) -> Any:
    """The value ``_sort_column`` has for this row (what the next page's cursor carries)."""
    if sort is ClientSort.TIER:
        return client.tier or NO_TIER
    if sort is ClientSort.FOLLOW_UP:
        return client.next_follow_up_on or NO_FOLLOW_UP
    return None


def _name_bounds(prefix: str) -> dict[str, str]:
    """The parameters of a case-insensitive prefix: a byte-order range on ``lower(name) COLLATE
    "C"`` (indexable even with a bound parameter; no upper end after the last code point), plus the
    exact LIKE to be precise at the range's edge."""
    lowered = prefix.lower()
    bounds = {"name_from": lowered}
    last = lowered[-1]
    if ord(last) < 0x10FFFF:
        bounds["name_below"] = lowered[:-1] + chr(ord(last) + 1)
    escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    bounds["name_like"] = escaped + "%"
    return bounds


_EQUAL_FILTERS = ("owner_agent_id", "tier", "channel", "phone_hmac", "resident_id_hmac")


@dataclass(frozen=True, slots=True)
class _ListShape:
    """What a page's statement depends on besides the values: built once per shape."""

    kind: Reach
    equal: tuple[str, ...]
    """The ``_EQUAL_FILTERS`` given."""
    name: tuple[str, ...]
    """The keys of ``_name_bounds`` (none without a name prefix)."""
    follow_up_due: bool
    sort: ClientSort
    keyset: bool
    limit: int


def _list_criteria(shape: _ListShape) -> tuple[list[ColumnElement[bool]], ColumnElement[Any] | None]:
    """A page's conditions on the table's columns, with placeholders for every value
    (``_list_parameters`` gives them), and its sort key (``_order``; none for ``recent``)."""
    c = Client.__table__.c  # type: ignore[attr-defined]
    conditions: list[ColumnElement[bool]] = [
        c.deleted_at.is_(None),
        reach_predicate(shape.kind, owner=c.owner_agent_id, team=c.team_id, value=scope_parameter()),
    ]
    conditions += [c[name] == bindparam(name) for name in shape.equal]
    if shape.name:
        name_key = func.lower(c.name).collate("C")
        conditions.append(name_key >= type_coerce(bindparam("name_from"), String).collate("C"))
        if "name_below" in shape.name:
            conditions.append(name_key < type_coerce(bindparam("name_below"), String).collate("C"))
        conditions.append(func.lower(c.name).like(bindparam("name_like"), escape="\\"))
    if shape.follow_up_due:
        conditions.append(c.next_follow_up_on <= bindparam("follow_up_due_by"))
    key = _sort_column(shape.sort)
    if shape.sort is ClientSort.FOLLOW_UP and shape.follow_up_due:
        # Every row has a follow-up date: the bare column sorts the same as the coalesced one and
        # matches ix_clients_follow_up, so an admin's page stops after ``limit`` rows.
        key = cast(ColumnElement[Any], c.next_follow_up_on)
    if shape.keyset:
        newer = tuple_(c.created_at, c.id) < tuple_(
            bindparam("after_created_at", type_=c.created_at.type), bindparam("after_id", type_=c.id.type)
        )
        if key is None:
            conditions.append(newer)
        else:
            # ``key >= ...`` too: the index scan starts at the cursor's key instead of filtering
            # every earlier row.
            after_key = bindparam("after_key", type_=key.type)
            conditions += [key >= after_key, or_(key > after_key, and_(key == after_key, newer))]
    return conditions, key


def _order(key: Any, created_at: Any, id_: Any) -> list[ColumnElement[Any]]:
    """The list's order: the sort key ascending (when there is one), then newest first."""
    return [*([key.asc()] if key is not None else []), created_at.desc(), id_.desc()]


@functools.lru_cache(maxsize=512)
def _list_statement(shape: _ListShape) -> Select[Any]:
    """A page's rows, built once per shape: building it per request was a quarter of a list's CPU."""
    conditions, key = _list_criteria(shape)
    c = Client.__table__.c  # type: ignore[attr-defined]
    order = _order(key, c.created_at, c.id)
    # Plain rows of the table, not model instances: a page is only shown (``service.to_read``).
    return select(*_shown_columns()).where(*conditions).order_by(*order).limit(shape.limit + 1)


_SORT_KEY = "page_sort_key"


@functools.lru_cache(maxsize=512)
def _page_json_statement(shape: _ListShape) -> Select[Any]:
    """The same rows, numbered in the same order, made into the page's JSON by ``pages.page_select``
    (built once per shape too).

    The rows are numbered after the ``LIMIT``, by the same order on the page's own columns (the sort
    key is one of them): PostgreSQL sees they come in that order and adds no sort. Numbered before
    it, a window between the ``LIMIT`` and a sort would make a full sort of every matching row out
    of the top-N one a sort by tier needs."""
    conditions, key = _list_criteria(shape)
    c = Client.__table__.c  # type: ignore[attr-defined]
    keyed = [key.label(_SORT_KEY)] if key is not None else []
    order = _order(key, c.created_at, c.id)
    rows = select(*_shown_columns(), *keyed).where(*conditions).order_by(*order).limit(shape.limit + 1)
    page = rows.subquery("page")
    page_order = _order(page.c[_SORT_KEY] if key is not None else None, page.c.created_at, page.c.id)
    number = func.row_number().over(order_by=page_order).label(pages.ROW_NUMBER)
    return pages.page_select(select(page, number).subquery("numbered"), shape.limit)


@functools.lru_cache(maxsize=512)
def _page_json_sql(shape: _ListShape, dialect: Dialect) -> DriverSql:
    """``_page_json_statement`` compiled once: its cache key (a walk of the whole statement, hashed
    again at every call) cost more than running it through SQLAlchemy did otherwise."""
    return driver_sql(_page_json_statement(shape), dialect)


def _list_parameters(
    *, principal: Principal, filters: ClientFilters, sort: ClientSort, after: SortKey | None, limit: int
) -> tuple[_ListShape, dict[str, Any]]:
    """A page's shape and the values of its placeholders."""
    kind, scope_id = reach(principal)
    parameters: dict[str, Any] = {SCOPE_PARAMETER: scope_id}
    for field in _EQUAL_FILTERS:
        value = getattr(filters, field)
        if value is not None:
            parameters[field] = value
    equal = tuple(parameters)[1:]
    name = _name_bounds(filters.name_prefix) if filters.name_prefix else {}
    parameters.update(name)
    if filters.follow_up_due_by is not None:
        parameters["follow_up_due_by"] = filters.follow_up_due_by
    if after is not None:
        parameters.update(after_created_at=after.created_at, after_id=after.id)
        if sort is not ClientSort.RECENT:
            parameters["after_key"] = after.key
    shape = _ListShape(
        kind=kind,
        equal=equal,
        name=tuple(name),
        follow_up_due=filters.follow_up_due_by is not None,
        sort=sort,
        keyset=after is not None,
        limit=limit,
    )
    return shape, parameters


async def list_visible(
    *,
    session: AsyncSession | AsyncConnection,
    principal: Principal,
    filters: ClientFilters,
    sort: ClientSort,
    after: SortKey | None,
    limit: int,
) -> list[Row[Any]]:
    """Keyset on (sort key ascending, created_at and id descending); returns up to ``limit + 1`` rows
    to detect more."""
    shape, parameters = _list_parameters(
        principal=principal, filters=filters, sort=sort, after=after, limit=limit
    )
    return list((await session.execute(_list_statement(shape), parameters)).all())


async def page_json_visible(
    *,
    connection: AsyncConnection,
    principal: Principal,
    filters: ClientFilters,
    sort: ClientSort,
    after: SortKey | None,
    limit: int,
) -> Row[Any]:
    """``list_visible``'s page as one row (``pages.page_select``): its items' JSON, how many rows
    it found, and the last shown row's cursor columns."""
    shape, parameters = _list_parameters(
        principal=principal, filters=filters, sort=sort, after=after, limit=limit
    )
    statement = _page_json_sql(shape, connection.dialect)
    page: Row[Any] = (await statement.execute(connection, parameters)).one()
    return page


def visible_client_ids(principal: Principal) -> Select[uuid.UUID]:
    """The ids of the live clients in the caller's scope, for ``client_id IN (...)`` on sub-records."""
    return select(col(Client.id)).where(*live_and_visible(principal))


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


async def newest_first(
    *,
    session: AsyncSession,
    model: type[M],
    conditions: Sequence[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
    stamp: str = "created_at",
) -> tuple[Sequence[M], str | None]:
    """One keyset page ordered by ``(stamp, id)`` descending, and the cursor of the next one."""
    stamp_column: Any = getattr(model, stamp)
    id_column: Any = getattr(model, "id")  # noqa: B009 - generic over the subdomain's models
    after = read_cursor(cursor, datetime, uuid.UUID)
    where = list(conditions)
    if after is not None:
        where.append(tuple_(stamp_column, id_column) < tuple_(literal(after[0]), literal(after[1])))
    stmt = select(model).where(*where).order_by(stamp_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    return trim(rows, limit, key=lambda row: (getattr(row, stamp), getattr(row, "id")))  # noqa: B009


_NEW = "client_"


def new_client(columns: dict[str, Any]) -> Along:
    """The INSERT of a new client (its columns by name; those not given are null) as the change
    its audit row is written with: one statement for both, where the unit of work's flush took
    one of its own (and read back the computed columns, which no answer shows)."""
    parameters = {parameter: columns.get(name) for name, parameter in _written_columns()}
    return Along(_insert_client(), parameters)


@functools.cache
def _written_columns() -> tuple[tuple[str, str], ...]:
    """Each written column's name and its placeholder's (named once, not on every create)."""
    table = Client.__table__  # type: ignore[attr-defined]
    return tuple((column.key, f"{_NEW}{column.key}") for column in table.c if column.computed is None)


@functools.cache
def _insert_client() -> Insert:
    table = Client.__table__  # type: ignore[attr-defined]
    return insert(table).values(
        {name: bindparam(parameter, type_=table.c[name].type) for name, parameter in _written_columns()}
    )
