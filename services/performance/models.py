"""Tables of the performance service, all in the `performance` schema.

Goals and progress notes are written by people. The rest is derived from the events the
clients and policies services publish (``counters.py``): per-agent monthly counters that the
scorecard reads directly (precomputed, so a team's year is one indexed range read), the few
facts about clients and applications the counting needs to remember, and the feed cursors.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from crmkit.db import one_of, schema_registry
from crmkit.infra_tables import define_infra_tables

SCHEMA = "performance"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

GOAL_STATUSES = ("proposed", "approved", "adjusted")
YEAR = 0
"""``Goal.month`` of a yearly goal."""

TARGETS = ("effective_clients", "closed_deals", "first_year_premium", "appointments", "visits", "calls")
"""What a goal sets, and what the scorecard measures against it."""

COUNTERS = (
    "leads_warm_market",
    "leads_referral",
    "leads_cold",
    "leads_online",
    "tiered",
    "needs_analysed",
    "effective_clients",
    "proposals",
    "applications",
    "closed_deals",
    "first_year_premium",
    "referral_deals",
    "referral_premium",
    "issued",
    "in_force",
    "appointments",
    "visits",
    "calls",
)


class PerformanceTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Goal(PerformanceTable, table=True):
    """An agent's target for a month (1-12) or a whole year (month 0), set by the agent and
    approved or adjusted by the team lead (manual §七.3)."""

    __tablename__ = "goals"
    __table_args__ = (
        CheckConstraint(one_of("status", GOAL_STATUSES), name="status_known"),
        CheckConstraint("month BETWEEN 0 AND 12", name="month_range"),
        CheckConstraint(
            "effective_clients >= 0 AND closed_deals >= 0 AND first_year_premium >= 0"
            " AND appointments >= 0 AND visits >= 0 AND calls >= 0",
            name="targets_not_negative",
        ),
        UniqueConstraint("agent_id", "year", "month", name="uq_goals_agent_period"),
        Index("ix_goals_team_year", "team_id", "year", "month"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    year: int = Field(sa_column=Column(SmallInteger, nullable=False))
    month: int = Field(sa_column=Column(SmallInteger, nullable=False))
    effective_clients: int = Field(sa_column=Column(Integer, nullable=False))
    closed_deals: int = Field(sa_column=Column(Integer, nullable=False))
    first_year_premium: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    appointments: int = Field(sa_column=Column(Integer, nullable=False))
    visits: int = Field(sa_column=Column(Integer, nullable=False))
    calls: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    set_by: uuid.UUID = Field(nullable=False)
    approved_by: uuid.UUID | None = Field(default=None, nullable=True)
    approved_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    version: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ProgressNote(PerformanceTable, table=True):
    """The agent's written progress report for a report period, lessons learned included
    (procedure 三.11: 定期向上级汇报进展, 总结经验教训)."""

    __tablename__ = "progress_notes"
    __table_args__ = (
        CheckConstraint("from_date <= to_date", name="period_in_order"),
        UniqueConstraint("agent_id", "from_date", "to_date", name="uq_progress_notes_agent_period"),
        Index("ix_progress_notes_team_period", "team_id", "from_date"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    from_date: date = Field(sa_column=Column(Date, nullable=False))
    to_date: date = Field(sa_column=Column(Date, nullable=False))
    progress: str = Field(sa_column=Column(Text, nullable=False))
    lessons_learned: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AgentMonth(PerformanceTable, table=True):
    """One agent's counts for one month, kept up to date from the services' events."""

    __tablename__ = "agent_months"
    __table_args__ = (Index("ix_agent_months_team_month", "team_id", "month"),)

    agent_id: uuid.UUID = Field(primary_key=True)
    month: date = Field(sa_column=Column(Date, primary_key=True))
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    leads_warm_market: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    leads_referral: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    leads_cold: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    leads_online: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    tiered: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    needs_analysed: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    effective_clients: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    proposals: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    applications: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    closed_deals: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    first_year_premium: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(14, 2), nullable=False, server_default="0")
    )
    referral_deals: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    referral_premium: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(14, 2), nullable=False, server_default="0")
    )
    issued: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    in_force: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    appointments: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    visits: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    calls: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class ClientFact(PerformanceTable, table=True):
    """What the counting remembers of a client from the clients service's events."""

    __tablename__ = "client_facts"

    client_id: uuid.UUID = Field(primary_key=True)
    agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    computed_tier: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    override_tier: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    tiered_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    needs_analysed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    effective_month: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class ApplicationFact(PerformanceTable, table=True):
    """What the counting remembers of an application from the policies service's events."""

    __tablename__ = "application_facts"

    application_id: uuid.UUID = Field(primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    annual_premium: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    deal_month: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    referral: bool = Field(default=False, nullable=False)


class FeedCursor(PerformanceTable, table=True):
    """How far each service's event feed has been counted (stored with the counts it produced)."""

    __tablename__ = "feed_cursors"

    service: str = Field(sa_column=Column(String(40), primary_key=True))
    cursor: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    events_counted: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
