"""The two infrastructure tables every service keeps in its own schema: audit and idempotency."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.engine import Connection
from sqlalchemy.types import UserDefinedType


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``pg_current_xact_id()``); asyncpg reads it as an int."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


# So reflection (and the migrations-match-models check) knows the type instead of warning.
ischema_names.setdefault("xid8", Xid8)


@dataclass(frozen=True)
class InfraTables:
    audit_log: Table
    idempotency_keys: Table


def define_infra_tables(metadata: MetaData, *, outbox: bool = True) -> InfraTables:
    """``outbox=False`` is the shape of each app's first migration, before the ``txid`` column."""
    outbox_columns: list[Column[object] | Index] = []
    if outbox:
        # The audit log is the event outbox: the writing transaction's id orders it by commit
        # visibility (crmkit/events.py); added by each app's ``*_0003`` migration.
        outbox_columns = [
            Column("txid", Xid8(), nullable=False, server_default=func.pg_current_xact_id()),
            Index("ix_audit_log_txid_id", "txid", "id"),
        ]
    audit_log = Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor", String(80), nullable=False),
        Column("actor_role", String(20), nullable=False),
        Column("action", String(60), nullable=False),
        Column("resource_type", String(60), nullable=False),
        Column("resource_id", UUID(as_uuid=True), nullable=False),
        Column("before", JSONB(none_as_null=True), nullable=True),
        Column("after", JSONB(none_as_null=True), nullable=True),
        Column("request_id", String(128), nullable=True),
        Index(None, "resource_type", "resource_id", "id"),
        *outbox_columns,
    )
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(80), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", LargeBinary, nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response_headers", JSONB, nullable=False),
        Column("response_body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index(None, "created_at"),
    )
    return InfraTables(audit_log=audit_log, idempotency_keys=idempotency_keys)


def create_infra_tables(connection: Connection, schema: str) -> None:
    """Used by each app's first migration, so the two tables are defined once."""
    tables = define_infra_tables(MetaData(schema=schema), outbox=False)
    tables.audit_log.create(connection)
    tables.idempotency_keys.create(connection)


def drop_infra_tables(connection: Connection, schema: str) -> None:
    tables = define_infra_tables(MetaData(schema=schema), outbox=False)
    tables.idempotency_keys.drop(connection)
    tables.audit_log.drop(connection)
