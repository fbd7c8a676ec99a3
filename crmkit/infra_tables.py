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
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class InfraTables:
    audit_log: Table
    idempotency_keys: Table


def define_infra_tables(metadata: MetaData) -> InfraTables:
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
    tables = define_infra_tables(MetaData(schema=schema))
    tables.audit_log.create(connection)
    tables.idempotency_keys.create(connection)


def drop_infra_tables(connection: Connection, schema: str) -> None:
    tables = define_infra_tables(MetaData(schema=schema))
    tables.idempotency_keys.drop(connection)
    tables.audit_log.drop(connection)
