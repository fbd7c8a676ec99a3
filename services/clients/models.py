"""Tables of the clients service, all in the `clients` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    text,
)
from sqlmodel import Field, SQLModel

from crmkit.db import schema_registry
from crmkit.infra_tables import define_infra_tables

SCHEMA = "clients"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

GENDERS = ("male", "female", "undisclosed")
CHANNELS = ("warm_market", "referral", "cold", "online")
TIERS = ("A", "B", "C")

LIVE = text("deleted_at IS NULL")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ClientsTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Client(ClientsTable, table=True):
    """A client record (客户档案). Personal fields are stored encrypted, with a lookup HMAC and a
    ready-made mask beside them, so reads never decrypt."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(_one_of("gender", GENDERS), name="gender_known"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_one_of("tier", TIERS), name="tier_known"),
        CheckConstraint("occupation_class BETWEEN 1 AND 6", name="occupation_class_range"),
        CheckConstraint(
            "(channel = 'referral') = (referred_by_client_id IS NOT NULL)", name="referral_has_referrer"
        ),
        # Keyset pages, newest first, one index per scope (agent, team, admin); live rows only.
        Index(
            "ix_clients_owner_recent",
            "owner_agent_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=LIVE,
        ),
        Index(
            "ix_clients_team_recent",
            "team_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=LIVE,
        ),
        Index("ix_clients_recent", text("created_at DESC"), text("id DESC"), postgresql_where=LIVE),
        Index("ix_clients_name_prefix", text('lower(name) COLLATE "C"'), postgresql_where=LIVE),
        Index("ix_clients_phone_hmac", "phone_hmac", postgresql_where=LIVE),
        Index("ix_clients_resident_id_hmac", "resident_id_hmac", postgresql_where=LIVE),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    gender: str = Field(sa_column=Column(String(20), nullable=False))
    birth_date: date | None = Field(default=None, nullable=True)
    resident_id_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    resident_id_hmac: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    resident_id_masked: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    phone_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_hmac: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_masked: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    occupation: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    occupation_class: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    referred_by_client_id: uuid.UUID | None = Field(default=None, nullable=True)
    notes: str | None = Field(default=None, sa_column=Column(String(4000), nullable=True))
    tier: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
