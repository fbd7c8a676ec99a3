"""Tables of the claims service, all in the `claims` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Row
from sqlmodel import Field, SQLModel

from crmkit.db import one_of, schema_registry
from crmkit.infra_tables import define_infra_tables
from services.claims.checklists import ClaimType
from services.claims.transitions import ClaimStatus, DocumentStatus

SCHEMA = "claims"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

# Partial-index predicates, used verbatim by the work-list queries so the planner can match them.
OPEN = "closed_at IS NULL"
AWAITING_DECISION = "status IN ('submitted', 'under_review')"
DOCUMENTS_OUTSTANDING = "documents_missing_since IS NOT NULL AND closed_at IS NULL"

CLAIM_TYPES = tuple(ClaimType)
CLAIM_STATUSES = tuple(ClaimStatus)
DOCUMENT_STATUSES = tuple(DocumentStatus)
EVENT_KINDS = ("status_changed", "client_update")

MONEY = Numeric(14, 2)
CLAIM_ID = f"{SCHEMA}.claims.id"


def _scoped(name: str, *keys: str, where: str) -> tuple[Index, Index, Index]:
    """One index per scope (agent → owner, team lead → team, admin → all) for a keyset list."""
    return (
        Index(f"ix_claims_owner_{name}", "owner_agent_id", *keys, postgresql_where=text(where)),
        Index(f"ix_claims_team_{name}", "team_id", *keys, postgresql_where=text(where)),
        Index(f"ix_claims_all_{name}", *keys, postgresql_where=text(where)),
    )


class ClaimsTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Claim(ClaimsTable, table=True):
    """A claim (理赔) against one policy, followed from the report until the money arrives."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint(one_of("claim_type", CLAIM_TYPES), name="claim_type_known"),
        CheckConstraint(one_of("status", CLAIM_STATUSES), name="status_known"),
        CheckConstraint("claimed_amount > 0", name="claimed_amount_positive"),
        CheckConstraint("approved_amount IS NULL OR approved_amount > 0", name="approved_amount_positive"),
        CheckConstraint("paid_amount IS NULL OR paid_amount > 0", name="paid_amount_positive"),
        CheckConstraint("(status = 'paid') = (paid_amount IS NOT NULL)", name="paid_has_amount"),
        CheckConstraint("incident_date <= reported_on", name="reported_after_incident"),
        # Newest first per scope, and per policy / client (the client overview).
        Index("ix_claims_owner_recent", "owner_agent_id", text("created_at DESC"), text("id DESC")),
        Index("ix_claims_team_recent", "team_id", text("created_at DESC"), text("id DESC")),
        Index("ix_claims_recent", text("created_at DESC"), text("id DESC")),
        Index("ix_claims_client_recent", "client_id", text("created_at DESC"), text("id DESC")),
        Index("ix_claims_policy_recent", "policy_id", text("created_at DESC"), text("id DESC")),
        # Work lists, oldest or most overdue first.
        *_scoped("updates_due", "last_client_update_at", "id", where=OPEN),
        *_scoped("decision_due", "decision_due_on", "id", where=AWAITING_DECISION),
        *_scoped("documents_missing", "documents_missing_since", "id", where=DOCUMENTS_OUTSTANDING),
        # The business report's periods (reports.py): claims reported, claims paid.
        Index("ix_claims_reported", "reported_on"),
        Index("ix_claims_paid", "paid_on", postgresql_where=text("paid_on IS NOT NULL")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(nullable=False)
    client_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    policy_number: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    insurer: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    product_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    claim_type: str = Field(sa_column=Column(String(32), nullable=False))
    incident_date: date = Field(sa_column=Column(Date, nullable=False))
    in_waiting_period: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    """The incident fell inside the policy's waiting period (等待期): accepted, the insurer decides."""
    waiting_period_ends_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    reported_on: date = Field(sa_column=Column(Date, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(4000), nullable=True))
    claimed_amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    claimant_name: str = Field(sa_column=Column(String(100), nullable=False))
    claimant_relationship: str = Field(sa_column=Column(String(20), nullable=False))
    bank_name: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    bank_account_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    bank_account_masked: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    submitted_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    decision_due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    decided_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    decision_reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    approved_amount: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    paid_amount: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    paid_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    closing_reason: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    last_client_update_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    documents_missing_since: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


# A claim as a read shows it: the ORM object, or a row of the table's columns (the work lists read
# plain rows: ``repository.work_list``). Both answer the same attribute names.
ClaimRecord = Claim | Row[Any]


class ClaimDocument(ClaimsTable, table=True):
    """One checklist item of a claim: metadata only (what, when received, by whom), never the file."""

    __tablename__ = "claim_documents"
    __table_args__ = (
        UniqueConstraint("claim_id", "code", name="uq_claim_documents_claim_id_code"),
        CheckConstraint(one_of("status", DOCUMENT_STATUSES), name="status_known"),
        CheckConstraint("(status = 'rejected') = (rejection_reason IS NOT NULL)", name="rejected_has_reason"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    claim_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey(CLAIM_ID, ondelete="CASCADE"), nullable=False)
    )
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    code: str = Field(sa_column=Column(String(64), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    required: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    outstanding_since: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    received_by: uuid.UUID | None = Field(default=None, nullable=True)
    submitted_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    rejection_reason: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ClaimEvent(ClaimsTable, table=True):
    """The claim's timeline: every status change and every client update, in order."""

    __tablename__ = "claim_events"
    __table_args__ = (
        CheckConstraint(one_of("kind", EVENT_KINDS), name="kind_known"),
        Index("ix_claim_events_claim_timeline", "claim_id", "occurred_at", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    claim_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey(CLAIM_ID, ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(String(80), nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    to_status: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    channel: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    summary: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
