"""Tables of the clients service, all in the `clients` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlmodel import Field, SQLModel

from crmkit.db import one_of, schema_registry
from crmkit.infra_tables import define_infra_tables

SCHEMA = "clients"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

GENDERS = ("male", "female", "undisclosed")
CHANNELS = ("warm_market", "referral", "cold", "online")
TIERS = ("A", "B", "C")
RELATIONSHIPS = ("spouse", "child", "parent", "other")
TIER_CHANGE_SOURCES = ("scores", "override", "override_cleared")
INTERACTION_KINDS = ("appointment", "visit", "call", "note")
MILESTONE_KINDS = ("school_entry", "elder_birthday_banquet", "custom")
COMPLAINT_STATUSES = ("received", "investigating", "resolved", "reported")
CONSENT_PURPOSES = ("personal_data", "marketing", "sharing_with_insurer")
GREETING_OCCASIONS = ("birthday", "milestone", "festival", "event_invitation", "other")
GREETING_CHANNELS = ("wechat", "sms", "email", "phone", "card")
# Identity document types (services/clients/identity_documents.py holds each type's rule).
ID_DOCUMENT_TYPES = ("resident_id", "hk_mo_tw_residence_permit", "foreign_permanent_residence_id", "passport")

LIVE = text("deleted_at IS NULL")
YEARLY = text("recurs_yearly")
# Month * 100 + day of the birth date (229 for 29 February): birthday windows as an indexed IN list.
BIRTH_MD_SQL = "((extract(month from birth_date) * 100 + extract(day from birth_date))::smallint)"


# The name as duplicates are compared: Unicode-normalised (full-width → half-width), spaces removed,
# lower case, so 'Wang Fang', 'wangfang' and its full-width spelling are one key.
NAME_KEY_SQL = "lower(regexp_replace(normalize(name, NFKC), '\\s+', '', 'g'))"
IMPORT_JOB_STATES = ("running", "succeeded", "failed")


def month_day_column(date_column: str = "birth_date") -> Column[int]:
    return Column(SmallInteger, Computed(BIRTH_MD_SQL.replace("birth_date", date_column), persisted=True))


class ClientsTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Client(ClientsTable, table=True):
    """A client record (客户档案). Personal fields are stored encrypted, with a lookup HMAC and a
    ready-made mask beside them, so reads never decrypt."""

    __tablename__ = "clients"
    __mapper_args__ = {"eager_defaults": True}  # birth_md comes back in RETURNING, never lazy-loaded
    __table_args__ = (
        CheckConstraint(one_of("gender", GENDERS), name="gender_known"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint(one_of("tier", TIERS), name="tier_known"),
        CheckConstraint("occupation_class BETWEEN 1 AND 6", name="occupation_class_range"),
        CheckConstraint(one_of("id_document_type", ID_DOCUMENT_TYPES), name="id_document_type_known"),
        CheckConstraint(
            "(id_document_type IS NULL) = (resident_id_cipher IS NULL)", name="id_document_has_type"
        ),
        CheckConstraint(
            "(id_document_country IS NOT NULL) = (id_document_type IS NOT DISTINCT FROM 'passport')",
            name="id_document_country_for_passport",
        ),
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
        # An agent's list filtered by channel or tier (a quarter of a book each) reads only the
        # rows it shows (migration clients_0012).
        Index(
            "ix_clients_owner_channel_recent",
            "owner_agent_id",
            "channel",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=LIVE,
        ),
        Index(
            "ix_clients_owner_tier_recent",
            "owner_agent_id",
            "tier",
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
        # Follow-up lists and birthday windows, per agent, per team and for an admin (the whole
        # book): birthdays a page at a time in (month-day, id) order (milestones/upcoming.py).
        Index("ix_clients_owner_follow_up", "owner_agent_id", "next_follow_up_on", postgresql_where=LIVE),
        Index("ix_clients_team_follow_up", "team_id", "next_follow_up_on", postgresql_where=LIVE),
        Index(
            "ix_clients_follow_up",
            "next_follow_up_on",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("deleted_at IS NULL AND next_follow_up_on IS NOT NULL"),
        ),
        Index("ix_clients_owner_birth_md", "owner_agent_id", "birth_md", "id", postgresql_where=LIVE),
        Index("ix_clients_team_birth_md", "team_id", "birth_md", "id", postgresql_where=LIVE),
        Index("ix_clients_birth_md", "birth_md", "id", postgresql_where=LIVE),
        # A client's referrals, oldest first (client_events/service.py).
        Index(
            "ix_clients_referrals",
            "referred_by_client_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL AND referred_by_client_id IS NOT NULL"),
        ),
        # Duplicate detection: windows of a scope's clients in id order, and similar names among
        # clients born the same day by blocking key (the first or the last letter; see
        # duplicates/repository.py).
        Index("ix_clients_owner_id", "owner_agent_id", "id", postgresql_where=LIVE),
        Index("ix_clients_team_id", "team_id", "id", postgresql_where=LIVE),
        Index(
            "ix_clients_birth_date_name_first",
            "birth_date",
            text("left(name_key, 1)"),
            postgresql_where=text("deleted_at IS NULL AND birth_date IS NOT NULL"),
        ),
        Index(
            "ix_clients_birth_date_name_last",
            "birth_date",
            text("right(name_key, 1)"),
            postgresql_where=text("deleted_at IS NULL AND birth_date IS NOT NULL"),
        ),
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
    """The three ``resident_id_*`` columns hold the identity document's number whatever its type (they
    predate document types; renaming them would break every reader for no gain)."""
    id_document_type: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    id_document_country: str | None = Field(default=None, sa_column=Column(String(3), nullable=True))
    """A passport's issuing country, ISO 3166-1 alpha-3; null for every other type."""
    phone_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_hmac: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_masked: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    occupation: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    occupation_class: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    referred_by_client_id: uuid.UUID | None = Field(default=None, nullable=True)
    notes: str | None = Field(default=None, sa_column=Column(String(4000), nullable=True))
    tier: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    next_follow_up_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    """Derived from the interactions (see ``interactions.service.follow_up_plan``)."""
    birth_md: int | None = Field(default=None, sa_column=month_day_column())
    name_key: str | None = Field(
        default=None, sa_column=Column(String(100), Computed(NAME_KEY_SQL, persisted=True))
    )
    merged_into_id: uuid.UUID | None = Field(default=None, nullable=True)
    """Set when this client was merged into another (and soft-deleted)."""
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


def _money(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Numeric(14, 2), nullable=nullable))


def _text(length: int, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(String(length), nullable=nullable))


def _timestamp(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _by_client_recent(table: str) -> Index:
    return Index(f"ix_{table}_client_recent", "client_id", text("created_at DESC"), text("id DESC"))


# A client as a read shows it: the ORM object, or a row of the table's columns (GET by id reads a
# plain row: ``repository.read_visible``). Both answer the same attribute names.
ClientRecord = Client | Row[Any]


class Household(ClientsTable, table=True):
    """A client's household finances (one row per client; absent until first saved)."""

    __tablename__ = "households"

    client_id: uuid.UUID = Field(primary_key=True)
    annual_income: Decimal | None = _money()
    mortgage_balance: Decimal | None = _money()
    mortgage_monthly_payment: Decimal | None = _money()
    other_liabilities: Decimal | None = _money()
    monthly_expenses: Decimal | None = _money()
    annual_education_spending: Decimal | None = _money()
    annual_elder_care_spending: Decimal | None = _money()
    client_is_breadwinner: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    """家庭支柱: whether the client earns the household's living (members may too)."""
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class HouseholdIncome(ClientsTable, table=True):
    """Each household income as it was recorded, so a review can see it grow."""

    __tablename__ = "household_incomes"
    __table_args__ = (
        Index("ix_household_incomes_client_recent", "client_id", text("recorded_at DESC"), text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    annual_income: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    recorded_at: datetime = _timestamp()


class FamilyMember(ClientsTable, table=True):
    """Someone in the client's family; may be a client too (``member_client_id``)."""

    __tablename__ = "family_members"
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        CheckConstraint(one_of("relationship", RELATIONSHIPS), name="relationship_known"),
        CheckConstraint(one_of("gender", GENDERS), name="gender_known"),
        # 决策力: one financial decision-maker per household at most.
        Index(
            "uq_family_members_one_decision_maker",
            "client_id",
            unique=True,
            postgresql_where=text("is_decision_maker"),
        ),
        _by_client_recent("family_members"),
        # Birthdays a page at a time in (month-day, id) order: the whole book for an admin, an
        # agent's or a team's through the client's owner and team carried here (upcoming.py).
        Index("ix_family_members_birth_md", "birth_md", "id"),
        Index("ix_family_members_owner_birth_md", "owner_agent_id", "birth_md", "id"),
        Index("ix_family_members_team_birth_md", "team_id", "birth_md", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    # The client's owner and team, copied on every write that sets or changes them (owners.py):
    # the caller's scope without a join to clients, and the distribution key (docs/scaling.md).
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    relationship: str = Field(sa_column=Column(String(20), nullable=False))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    gender: str = Field(sa_column=Column(String(20), nullable=False))
    birth_date: date | None = Field(default=None, nullable=True)
    birth_md: int | None = Field(default=None, sa_column=month_day_column())
    is_dependent: bool = Field(sa_column=Column(Boolean, nullable=False))
    is_decision_maker: bool = Field(sa_column=Column(Boolean, nullable=False))
    is_breadwinner: bool = Field(sa_column=Column(Boolean, nullable=False))
    annual_income: Decimal | None = _money()
    member_client_id: uuid.UUID | None = Field(default=None, nullable=True)
    notes: str | None = _text(1000)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class TierAssessment(ClientsTable, table=True):
    """The three scores (manual 一.2) with their evidence, the computed tier and any override."""

    __tablename__ = "tier_assessments"
    __table_args__ = (
        CheckConstraint("need_score BETWEEN 1 AND 5", name="need_score_range"),
        CheckConstraint("capacity_score BETWEEN 1 AND 5", name="capacity_score_range"),
        CheckConstraint("decision_score BETWEEN 1 AND 5", name="decision_score_range"),
        CheckConstraint(one_of("computed_tier", TIERS), name="computed_tier_known"),
        CheckConstraint(one_of("override_tier", TIERS), name="override_tier_known"),
        CheckConstraint("(override_tier IS NULL) = (override_reason IS NULL)", name="override_has_reason"),
    )

    client_id: uuid.UUID = Field(primary_key=True)
    need_score: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    capacity_score: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    decision_score: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    life_events: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    need_evidence: str | None = _text(1000)
    capacity_evidence: str | None = _text(1000)
    decision_evidence: str | None = _text(1000)
    computed_tier: str | None = _text(1)
    override_tier: str | None = _text(1)
    override_reason: str | None = _text(500)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class TierChange(ClientsTable, table=True):
    """One row each time a client's effective tier changes (tier history)."""

    __tablename__ = "tier_changes"
    __table_args__ = (
        CheckConstraint(one_of("source", TIER_CHANGE_SOURCES), name="source_known"),
        _by_client_recent("tier_changes"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    from_tier: str | None = _text(1)
    to_tier: str | None = _text(1)
    computed_tier: str | None = _text(1)
    source: str = Field(sa_column=Column(String(20), nullable=False))
    reason: str | None = _text(500)
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    changed_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = _timestamp()


class NeedsAssessment(ClientsTable, table=True):
    """Needs analysis (manual 二): existing cover, targets for the four walls, wealth goals."""

    __tablename__ = "needs_assessments"

    client_id: uuid.UUID = Field(primary_key=True)
    client_annual_income: Decimal | None = _money()
    family_structure_note: str | None = _text(1000)
    occupational_risk_note: str | None = _text(1000)
    social_insurance: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    existing_policies: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    target_critical_illness: Decimal | None = _money()
    target_accident: Decimal | None = _money()
    target_medical: Decimal | None = _money()
    target_death: Decimal | None = _money()
    education_goals: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    pension_goal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Interaction(ClientsTable, table=True):
    """An appointment, visit, call or note, with its outcome and the next follow-up it plans."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(one_of("kind", INTERACTION_KINDS), name="kind_known"),
        Index("ix_interactions_client_at", "client_id", text("at DESC"), text("created_at DESC")),
        Index("ix_interactions_appointments", "at", postgresql_where=text("kind = 'appointment'")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    at: datetime = _timestamp()
    place: str | None = _text(200)
    purpose: str | None = _text(500)
    outcome: str | None = _text(2000)
    next_follow_up_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    recorded_by: uuid.UUID = Field(nullable=False)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Milestone(ClientsTable, table=True):
    """A family event worth a greeting (manual 五.3); birthdays come from birth dates instead."""

    __tablename__ = "milestones"
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        CheckConstraint(one_of("kind", MILESTONE_KINDS), name="kind_known"),
        _by_client_recent("milestones"),
        # Upcoming dates in (day, kind, id) order, a page at a time (milestones/upcoming.py), for
        # an admin, an agent and a team.
        Index("ix_milestones_occurs_on", "occurs_on", "kind", "id"),
        Index("ix_milestones_owner_occurs_on", "owner_agent_id", "occurs_on", "kind", "id"),
        Index("ix_milestones_team_occurs_on", "team_id", "occurs_on", "kind", "id"),
        Index("ix_milestones_yearly_md", "occurs_md", "kind", "id", postgresql_where=YEARLY),
        Index(
            "ix_milestones_owner_yearly_md",
            "owner_agent_id",
            "occurs_md",
            "kind",
            "id",
            postgresql_where=YEARLY,
        ),
        Index("ix_milestones_team_yearly_md", "team_id", "occurs_md", "kind", "id", postgresql_where=YEARLY),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    # The client's owner and team, as on family members.
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    family_member_id: uuid.UUID | None = Field(default=None, nullable=True)
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    occurs_on: date = Field(sa_column=Column(Date, nullable=False))
    occurs_md: int | None = Field(default=None, sa_column=month_day_column("occurs_on"))
    recurs_yearly: bool = Field(sa_column=Column(Boolean, nullable=False))
    notes: str | None = _text(1000)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Complaint(ClientsTable, table=True):
    """A complaint and its handling (manual 六.3): received → investigating → resolved → reported."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(one_of("status", COMPLAINT_STATUSES), name="status_known"),
        _by_client_recent("complaints"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    policy_id: uuid.UUID | None = Field(default=None, nullable=True)
    category: str = Field(sa_column=Column(String(30), nullable=False))
    compliance_findings: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    summary: str = Field(sa_column=Column(String(2000), nullable=False))
    received_at: datetime = _timestamp()
    status: str = Field(sa_column=Column(String(20), nullable=False))
    facts: str | None = _text(4000)
    resolution: str | None = _text(4000)
    report_summary: str | None = _text(4000)
    lessons_learned: str | None = _text(4000)
    investigating_at: datetime | None = _timestamp(nullable=True)
    resolved_at: datetime | None = _timestamp(nullable=True)
    reported_at: datetime | None = _timestamp(nullable=True)
    handled_by: uuid.UUID = Field(nullable=False)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Consent(ClientsTable, table=True):
    """The client's consent to a purpose of processing, under one version of the consent text."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(one_of("purpose", CONSENT_PURPOSES), name="purpose_known"),
        _by_client_recent("consents"),
        Index("ix_consents_active", "client_id", "purpose", postgresql_where=text("withdrawn_at IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    purpose: str = Field(sa_column=Column(String(30), nullable=False))
    text_version: str = Field(sa_column=Column(String(50), nullable=False))
    given_at: datetime = _timestamp()
    withdrawn_at: datetime | None = _timestamp(nullable=True)
    withdrawal_reason: str | None = _text(500)
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()


class Greeting(ClientsTable, table=True):
    """A greeting, event invitation or other outbound message sent to a client (manual 五.3): only
    with the client's active ``marketing`` consent (manual 六.2)."""

    __tablename__ = "greetings"
    __table_args__ = (
        CheckConstraint(one_of("occasion", GREETING_OCCASIONS), name="occasion_known"),
        CheckConstraint(one_of("channel", GREETING_CHANNELS), name="channel_known"),
        _by_client_recent("greetings"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    occasion: str = Field(sa_column=Column(String(20), nullable=False))
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    message: str = Field(sa_column=Column(String(1000), nullable=False))
    consent_id: uuid.UUID = Field(nullable=False)
    sent_at: datetime = _timestamp()
    sent_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = _timestamp()


class ImportJob(ClientsTable, table=True):
    """One real CSV import of clients: its progress, and who started it (the new clients' owner)."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(one_of("state", IMPORT_JOB_STATES), name="state_known"),
        Index("ix_import_jobs_running", "heartbeat_at", postgresql_where=text("state = 'running'")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    state: str = Field(sa_column=Column(String(20), nullable=False))
    consent_text_version: str | None = _text(50)
    rows_total: int = Field(sa_column=Column(Integer, nullable=False))
    rows_done: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    rows_failed: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    rows_created: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    failure: str | None = _text(500)
    created_at: datetime = _timestamp()
    heartbeat_at: datetime = _timestamp()
    finished_at: datetime | None = _timestamp(nullable=True)


class ImportRowError(ClientsTable, table=True):
    """One problem with one row of an import's file (the error report)."""

    __tablename__ = "import_row_errors"
    __table_args__ = (Index("ix_import_row_errors_job_row", "job_id", "row_number", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: uuid.UUID = Field(nullable=False)
    row_number: int = Field(sa_column=Column(Integer, nullable=False))
    field: str = Field(sa_column=Column(String(50), nullable=False))
    message: str = Field(sa_column=Column(String(500), nullable=False))


CLIENT_EVENT_KINDS = ("health_talk", "legal_consultation", "product_briefing", "community_event")
RSVP_STATES = ("invited", "accepted", "declined")


class ClientEvent(ClientsTable, table=True):
    """A client appreciation day or community event (客户答谢日: health talks, legal consultations;
    manual 五.3, 一.1), held by an agent for their clients."""

    __tablename__ = "client_events"
    __table_args__ = (
        CheckConstraint(one_of("kind", CLIENT_EVENT_KINDS), name="kind_known"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        Index("ix_client_events_owner_held_on", "owner_agent_id", "held_on"),
        Index("ix_client_events_team_held_on", "team_id", "held_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    held_on: date = Field(sa_column=Column(Date, nullable=False))
    place: str = Field(sa_column=Column(String(200), nullable=False))
    capacity: int = Field(sa_column=Column(Integer, nullable=False))
    notes: str | None = _text(2000)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class EventInvitation(ClientsTable, table=True):
    """A client invited to an event: the RSVP, and whether they came."""

    __tablename__ = "event_invitations"
    __table_args__ = (
        CheckConstraint(one_of("rsvp", RSVP_STATES), name="rsvp_known"),
        UniqueConstraint("event_id", "client_id", name="uq_event_invitations_event_client"),
        Index("ix_event_invitations_client_id", "client_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("client_events.id", ondelete="CASCADE"), nullable=False)
    )
    client_id: uuid.UUID = Field(nullable=False)
    rsvp: str = Field(sa_column=Column(String(20), nullable=False))
    attended: bool = Field(default=False, nullable=False)
    invited_at: datetime = _timestamp()
    responded_at: datetime | None = _timestamp(nullable=True)
    attended_at: datetime | None = _timestamp(nullable=True)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))


class EventAcquisition(ClientsTable, table=True):
    """A client acquired at an event (a new lead met there, or referred there by someone who came)."""

    __tablename__ = "event_acquisitions"
    __table_args__ = (Index("ix_event_acquisitions_event_id", "event_id"),)

    client_id: uuid.UUID = Field(primary_key=True)
    event_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("client_events.id", ondelete="CASCADE"), nullable=False)
    )
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = _timestamp()
