"""Tables of the documents service, all in the `documents` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from crmkit.db import one_of, schema_registry
from crmkit.infra_tables import define_infra_tables
from services.documents.kinds import ALLOWED, DocumentKind, RecordType

SCHEMA = "documents"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

LIVE = text("deleted_at IS NULL")
PURGE_PENDING = text("purged_at IS NULL AND purge_after IS NOT NULL")


class DocumentsTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Document(DocumentsTable, table=True):
    """A file attached to one record. The row holds metadata and the sealed data key; the content
    lives in storage under ``object_key`` (random, never a filename)."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(one_of("record_type", [t.value for t in RecordType]), name="record_type_known"),
        CheckConstraint(one_of("kind", [k.value for k in DocumentKind]), name="kind_known"),
        CheckConstraint(one_of("content_type", list(ALLOWED)), name="content_type_allowed"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_documents_record", "record_type", "record_id", "created_at", "id", postgresql_where=LIVE),
        Index("ix_documents_client_id", "client_id"),
        Index("ix_documents_owner_agent_id", "owner_agent_id", postgresql_where=LIVE),
        Index("ix_documents_team_id", "team_id", postgresql_where=LIVE),
        Index("ix_documents_purge_after", "purge_after", postgresql_where=PURGE_PENDING),
    )

    id: uuid.UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    record_type: str = Field(sa_column=Column(String(30), nullable=False))
    record_id: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False))
    parent_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    client_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), nullable=True), description="Whose document it is."
    )
    owner_agent_id: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False))
    team_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    filename_sealed: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary(), nullable=True), description="Cleared when purged."
    )
    content_type: str = Field(sa_column=Column(String(100), nullable=False))
    size_bytes: int = Field(sa_column=Column(BigInteger(), nullable=False))
    sha256: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    object_key: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    sealed_size: int = Field(sa_column=Column(BigInteger(), nullable=False))
    data_key_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    thumbnail_sealed_size: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    thumbnail_sha256: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    gps_removed: bool = Field(default=False)
    storage_backend: str = Field(sa_column=Column(String(10), nullable=False))
    retain_until: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=True),
        description="Legal minimum: not purged before (contracts, receipts, signed applications).",
    )
    uploaded_by: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    purge_after: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    purged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer(), nullable=False))


class FeedCursor(DocumentsTable, table=True):
    """Where this service stands in another service's event stream (the clients' deletions)."""

    __tablename__ = "feed_cursors"

    source: str = Field(sa_column=Column(String(40), primary_key=True))
    position: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
