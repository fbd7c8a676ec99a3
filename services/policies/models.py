"""Tables of the policies service, all in the `policies` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
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
from sqlmodel import Field, SQLModel

from crmkit.db import schema_registry
from crmkit.infra_tables import define_infra_tables

SCHEMA = "policies"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

MONEY = Numeric(14, 2)
# Policies that exist as cover (not cancelled, not surrendered): the work lists look only at these.
LIVE_POLICY = text("status IN ('receipt_signed', 'return_visit_done', 'in_force')")
# Policies the scheduled sweep may still move (lapse, expiry, termination).
SWEPT_POLICY = text("status IN ('issued', 'receipt_signed', 'return_visit_done', 'in_force', 'lapsed')")
PENDING = text("status = 'pending'")
DUE = text("status = 'due'")
COLLECTABLE_DUE = text("status = 'due' AND collectable")
RECEIPT_SIGNED = text("status = 'receipt_signed'")
# A live policy's annual review date (annual_review.py): a year after the client's last review, or
# after the policy took effect if the client was never reviewed. The due list walks it in order.
REVIEW_DUE_ON = text("(CAST(COALESCE(client_reviewed_on, effective_on) + interval '1 year' AS date))")


def _now_column() -> Any:
    return Column(DateTime(timezone=True), nullable=False)


class PoliciesTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Product(PoliciesTable, table=True):
    """A product of the catalogue; admins manage it, every signed-in agent reads it."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("insurer", "name", name="uq_products_insurer_name"),
        CheckConstraint("min_insured_age <= max_insured_age", name="age_range"),
        CheckConstraint("cooling_off_days BETWEEN 0 AND 366", name="cooling_off_range"),
        CheckConstraint(
            "coverage_term IN ('years', 'to_age', 'whole_life', 'one_year_renewable')"
            " AND ((coverage_term IN ('years', 'to_age')) = (coverage_years IS NOT NULL))",
            name="coverage_term",
        ),
        CheckConstraint(
            "premium_mode IN ('single', 'annual', 'semi_annual', 'quarterly', 'monthly')", name="premium_mode"
        ),
        CheckConstraint("grace_days BETWEEN 30 AND 366", name="grace_days"),
        CheckConstraint("waiting_days BETWEEN 0 AND 366", name="waiting_days"),
        CheckConstraint(
            "non_guaranteed_basis IN ('participating', 'universal', 'investment_linked')",
            name="non_guaranteed_basis",
        ),
        CheckConstraint(
            "max_illustrated_rate > 0 AND max_illustrated_rate <= 100", name="max_illustrated_rate"
        ),
        Index("ix_products_listing", "insurer", "name", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    insurer: str = Field(sa_column=Column(String(100), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    category: str = Field(sa_column=Column(String(40), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    min_insured_age: int = Field(sa_column=Column(SmallInteger, nullable=False))
    max_insured_age: int = Field(sa_column=Column(SmallInteger, nullable=False))
    payment_years: list[int] = Field(sa_column=Column(ARRAY(SmallInteger), nullable=False))
    cooling_off_days: int = Field(sa_column=Column(SmallInteger, nullable=False))
    walls: list[str] = Field(sa_column=Column(ARRAY(String(20)), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    coverage_term: str = Field(default="whole_life", sa_column=Column(String(30), nullable=False))
    coverage_years: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    """N for ``years`` (N years of cover), X for ``to_age`` (cover to the insured's X-th birthday)."""
    premium_mode: str = Field(default="annual", sa_column=Column(String(20), nullable=False))
    grace_days: int = Field(default=60, sa_column=Column(SmallInteger, nullable=False))
    waiting_days: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False))
    guaranteed_renewable: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    exclusions: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    """Key exclusions (责任免除), each a text the agent explains before acceptance (manual 六)."""
    guaranteed_benefits: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    non_guaranteed_basis: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    """``participating``, ``universal`` or ``investment_linked`` when some benefits are not guaranteed."""
    non_guaranteed_benefits: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    max_illustrated_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 2), nullable=True))
    """The highest return (percent a year) a proposal may illustrate; null: the product illustrates none."""
    recording_required: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    """The insurer requires every sale of this product to be recorded (可回溯), whatever the client's age."""
    disclosure_version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    """Raised whenever a disclosed term changes; acknowledgments name the version they refer to."""
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


def _scoped_indexes(table: str) -> tuple[Index, ...]:
    """Keyset pages newest first, one index per scope (agent, team, admin) and per client."""
    order = (text("created_at DESC"), text("id DESC"))
    return (
        Index(f"ix_{table}_owner_recent", "owner_agent_id", *order),
        Index(f"ix_{table}_team_recent", "team_id", *order),
        Index(f"ix_{table}_recent", *order),
        Index(f"ix_{table}_client_recent", "client_id", *order),
    )


class Proposal(PoliciesTable, table=True):
    """A plan for a client's household (方案设计); its revisions follow the client's feedback."""

    __tablename__ = "proposals"
    __table_args__ = _scoped_indexes("proposals")

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    title: str = Field(sa_column=Column(String(200), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    latest_revision: int = Field(sa_column=Column(Integer, nullable=False))
    accepted_revision: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


class ProposalRevision(PoliciesTable, table=True):
    """One version of a proposal: its items and the findings of the manual's checks, frozen."""

    __tablename__ = "proposal_revisions"
    __table_args__ = (UniqueConstraint("proposal_id", "revision", name="uq_proposal_revisions_revision"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    proposal_id: uuid.UUID = Field(nullable=False)
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    items: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    findings: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    total_annual_premium: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    household_annual_income: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    client_feedback: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    created_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class Application(PoliciesTable, table=True):
    """An insurance application (投保单), draft to issue. Health data is stored encrypted."""

    __tablename__ = "applications"
    __table_args__ = (
        *_scoped_indexes("applications"),
        # The business report's and the compliance findings' periods, one index per date basis.
        Index("ix_applications_applied", "applied_on", "id"),
        Index("ix_applications_submitted", "submitted_on", postgresql_where=text("submitted_on IS NOT NULL")),
        Index("ix_applications_decided", "decided_on", postgresql_where=text("decided_on IS NOT NULL")),
        CheckConstraint("sum_insured > 0 AND annual_premium > 0", name="positive_amounts"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    insured_member_id: uuid.UUID | None = Field(default=None, nullable=True)
    insured_name: str = Field(sa_column=Column(String(100), nullable=False))
    insured_birth_date: date = Field(sa_column=Column(Date, nullable=False))
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    product_id: uuid.UUID = Field(nullable=False)
    proposal_id: uuid.UUID | None = Field(default=None, nullable=True)
    proposal_item_id: uuid.UUID | None = Field(default=None, nullable=True)
    sum_insured: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    annual_premium: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    payment_years: int = Field(sa_column=Column(SmallInteger, nullable=False))
    beneficiaries: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    health_disclosure_cipher: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    health_questions: int = Field(sa_column=Column(SmallInteger, nullable=False))
    health_yes_answers: int = Field(sa_column=Column(SmallInteger, nullable=False))
    occupation_code: str = Field(sa_column=Column(String(20), nullable=False))
    guardian_signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    pre_underwriting_opinion: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    pre_underwriting_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    pre_underwriting_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(sa_column=Column(String(30), nullable=False))
    status_reason: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    applied_on: date = Field(sa_column=Column(Date, nullable=False))
    submitted_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    decided_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    decision_reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    policy_id: uuid.UUID | None = Field(default=None, nullable=True)
    traceability_reasons: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(40)), nullable=False, server_default=text("'{}'::varchar[]")),
    )
    """The rules of the traceability table (可回溯) this sale met when it was drafted; empty: none."""
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


class UnderwritingRequirement(PoliciesTable, table=True):
    """What the underwriter asked for (体检报告、就诊记录...), each with a due date and status.

    Owner and team are copied from the application so the work list reads one index."""

    __tablename__ = "underwriting_requirements"
    __table_args__ = (
        Index("ix_underwriting_requirements_application", "application_id", "created_at"),
        Index("ix_requirements_owner_due", "owner_agent_id", "due_on", "id", postgresql_where=PENDING),
        Index("ix_requirements_team_due", "team_id", "due_on", "id", postgresql_where=PENDING),
        Index("ix_requirements_due", "due_on", "id", postgresql_where=PENDING),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    resolved_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    created_at: datetime = Field(sa_column=_now_column())


class Policy(PoliciesTable, table=True):
    """A policy after issue. The policy number is unique per insurer."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("insurer", "policy_number", name="uq_policies_insurer_number"),
        *_scoped_indexes("policies"),
        Index(
            "ix_policies_application",
            "application_id",
            unique=True,
            postgresql_where=text("renewed_from_id IS NULL"),
        ),
        Index(
            "ix_policies_renewed_from",
            "renewed_from_id",
            unique=True,
            postgresql_where=text("renewed_from_id IS NOT NULL"),
        ),
        Index("ix_policies_expiring", "expires_on", "id", postgresql_where=SWEPT_POLICY),
        Index("ix_policies_lapsed", "lapsed_on", "id", postgresql_where=text("status = 'lapsed'")),
        Index(
            "ix_policies_cooling_off_unnoted",
            "cooling_off_ends_on",
            "id",
            postgresql_where=text("NOT cooling_off_noted AND cooling_off_ends_on IS NOT NULL"),
        ),
        Index(
            "ix_policies_owner_cooling_off",
            "owner_agent_id",
            "cooling_off_ends_on",
            "id",
            postgresql_where=LIVE_POLICY,
        ),
        Index(
            "ix_policies_team_cooling_off",
            "team_id",
            "cooling_off_ends_on",
            "id",
            postgresql_where=LIVE_POLICY,
        ),
        Index("ix_policies_cooling_off", "cooling_off_ends_on", "id", postgresql_where=LIVE_POLICY),
        Index(
            "ix_policies_owner_visit_pending",
            "owner_agent_id",
            "receipt_signed_on",
            "id",
            postgresql_where=RECEIPT_SIGNED,
        ),
        Index(
            "ix_policies_team_visit_pending",
            "team_id",
            "receipt_signed_on",
            "id",
            postgresql_where=RECEIPT_SIGNED,
        ),
        Index("ix_policies_visit_pending", "receipt_signed_on", "id", postgresql_where=RECEIPT_SIGNED),
        # The annual reviews due, per scope, by due date (annual_review.reviews_due).
        Index(
            "ix_policies_owner_review_due",
            "owner_agent_id",
            REVIEW_DUE_ON,
            "client_id",
            postgresql_where=LIVE_POLICY,
        ),
        Index(
            "ix_policies_team_review_due", "team_id", REVIEW_DUE_ON, "client_id", postgresql_where=LIVE_POLICY
        ),
        Index("ix_policies_review_due", REVIEW_DUE_ON, "client_id", postgresql_where=LIVE_POLICY),
        # The business report's periods (reports.py): issues, and ends (cancellations).
        Index("ix_policies_issued", "issued_on"),
        Index("ix_policies_ended", "ended_on", postgresql_where=text("ended_on IS NOT NULL")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(nullable=False)
    policy_number: str = Field(sa_column=Column(String(40), nullable=False))
    insurer: str = Field(sa_column=Column(String(100), nullable=False))
    product_id: uuid.UUID = Field(nullable=False)
    product_name: str = Field(sa_column=Column(String(200), nullable=False))
    category: str = Field(sa_column=Column(String(40), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    client_id: uuid.UUID = Field(nullable=False)
    insured_member_id: uuid.UUID | None = Field(default=None, nullable=True)
    insured_name: str = Field(sa_column=Column(String(100), nullable=False))
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    status: str = Field(sa_column=Column(String(30), nullable=False))
    sum_insured: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    annual_premium: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    payment_years: int = Field(sa_column=Column(SmallInteger, nullable=False))
    walls: list[str] = Field(sa_column=Column(ARRAY(String(20)), nullable=False))
    cooling_off_days: int = Field(sa_column=Column(SmallInteger, nullable=False))
    issued_on: date = Field(sa_column=Column(Date, nullable=False))
    issue_reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    effective_on: date = Field(sa_column=Column(Date, nullable=False))
    receipt_signed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    cooling_off_ends_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    return_visit: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    in_force_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    ended_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    refund_amount: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    surrender_value: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    coverage_term: str = Field(default="whole_life", sa_column=Column(String(30), nullable=False))
    premium_mode: str = Field(default="annual", sa_column=Column(String(20), nullable=False))
    grace_days: int = Field(default=60, sa_column=Column(SmallInteger, nullable=False))
    waiting_days: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False))
    renewable: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    expires_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    """The first day not covered (the term's end); null for whole-life cover."""
    waiting_ends_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    """The first day after the waiting period; null when the product has none (or on a renewal)."""
    lapsed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    lapses: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    """Every lapse, ``{"lapsed_on": date, "ended_on": date | null}``: no cover on those days, ever."""
    reinstated_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    reinstatement_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    renewed_from_id: uuid.UUID | None = Field(default=None, nullable=True)
    renewed_to_id: uuid.UUID | None = Field(default=None, nullable=True)
    renewal_decision: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    renewal_notice_days: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    """The last renewal notice published (60, 30 or 7 days before the term ends)."""
    cooling_off_noted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    client_reviewed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    """The client's last annual review, whoever held it (null: never), kept on each of the client's
    policies by ``review_clock.py`` so the reviews due are one index walk (``REVIEW_DUE_ON``)."""
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


class PremiumDue(PoliciesTable, table=True):
    """One instalment of a policy's premium schedule; overdue is ``due`` past its date."""

    __tablename__ = "premium_dues"
    __table_args__ = (
        UniqueConstraint("policy_id", "instalment", name="uq_premium_dues_instalment"),
        Index("ix_premium_dues_owner_due", "owner_agent_id", "due_on", "id", postgresql_where=DUE),
        Index("ix_premium_dues_team_due", "team_id", "due_on", "id", postgresql_where=DUE),
        Index("ix_premium_dues_due", "due_on", "id", postgresql_where=DUE),
        # The collection list: the instalments of policies that can still lapse.
        Index(
            "ix_premium_dues_owner_collect",
            "owner_agent_id",
            "due_on",
            "id",
            postgresql_where=COLLECTABLE_DUE,
        ),
        Index("ix_premium_dues_team_collect", "team_id", "due_on", "id", postgresql_where=COLLECTABLE_DUE),
        Index("ix_premium_dues_collect", "due_on", "id", postgresql_where=COLLECTABLE_DUE),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    instalment: int = Field(sa_column=Column(SmallInteger, nullable=False))
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    status: str = Field(sa_column=Column(String(10), nullable=False))
    paid_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    collectable: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    """Its policy can still lapse (status in ``LAPSABLE_STATES``): kept with the policy's status on
    every write that changes it (``services/policies/collectable.py``), so the collection list never
    reads the arrears of lapsed or ended policies."""


class PremiumPayment(PoliciesTable, table=True):
    """Money that arrived: the first premium (against the application, before issue), an
    instalment, the arrears of a reinstatement, or the first premium of a renewed term."""

    __tablename__ = "premium_payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("purpose IN ('first_premium', 'instalment', 'arrears', 'renewal')", name="purpose"),
        Index("ix_premium_payments_application", "application_id", "paid_on"),
        Index("ix_premium_payments_policy", "policy_id", "paid_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(nullable=False)
    policy_id: uuid.UUID | None = Field(default=None, nullable=True)
    premium_due_ids: list[uuid.UUID] = Field(sa_column=Column(ARRAY(Uuid), nullable=False))
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    purpose: str = Field(sa_column=Column(String(20), nullable=False))
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    paid_on: date = Field(sa_column=Column(Date, nullable=False))
    method: str = Field(sa_column=Column(String(20), nullable=False))
    reference: str = Field(sa_column=Column(String(100), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


OPEN_FLAG = text("resolved_on IS NULL")


class ReturnVisit(PoliciesTable, table=True):
    """Every return-visit call (回访) the insurer made, whatever its outcome (manual 四.3, 六).

    ``passed`` only when the client was reached, understood the cover and signed personally."""

    __tablename__ = "return_visits"
    __table_args__ = (
        Index("ix_return_visits_policy", "policy_id", "visited_on", "created_at"),
        CheckConstraint(
            "reached OR (understood_cover IS NULL AND signed_personally IS NULL)", name="unreached_no_answers"
        ),
        CheckConstraint(
            "passed = (reached AND coalesce(understood_cover, false) AND coalesce(signed_personally, false))",
            name="passed_rule",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    visited_on: date = Field(sa_column=Column(Date, nullable=False))
    reached: bool = Field(sa_column=Column(Boolean, nullable=False))
    understood_cover: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    signed_personally: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    passed: bool = Field(sa_column=Column(Boolean, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class ComplianceFlag(PoliciesTable, table=True):
    """A red flag the team lead must see (manual 六): e.g. a failed return visit, 代签.

    Open until a later fact clears it (a return visit that passes)."""

    __tablename__ = "compliance_flags"
    __table_args__ = (
        Index("ix_compliance_flags_policy", "policy_id", "raised_on"),
        Index("ix_compliance_flags_team_open", "team_id", "raised_on", "id", postgresql_where=OPEN_FLAG),
        Index(
            "ix_compliance_flags_owner_open", "owner_agent_id", "raised_on", "id", postgresql_where=OPEN_FLAG
        ),
        Index("ix_compliance_flags_open", "raised_on", "id", postgresql_where=OPEN_FLAG),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    policy_id: uuid.UUID = Field(nullable=False)
    client_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    reasons: list[str] = Field(sa_column=Column(ARRAY(String(40)), nullable=False))
    raised_on: date = Field(sa_column=Column(Date, nullable=False))
    resolved_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    resolution: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    resolved_by: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    created_at: datetime = Field(sa_column=_now_column())


class PolicyReviewRecord(PoliciesTable, table=True):
    """An annual review (年度检视, manual 五.1) the agent held with a client, with its findings."""

    __tablename__ = "policy_reviews"
    __table_args__ = (
        Index("ix_policy_reviews_client", "client_id", "reviewed_on"),
        Index("ix_policy_reviews_team", "team_id", "reviewed_on"),
        Index("ix_policy_reviews_owner", "owner_agent_id", "reviewed_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    reviewed_on: date = Field(sa_column=Column(Date, nullable=False))
    findings: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class DisclosureAcknowledgment(PoliciesTable, table=True):
    """The client acknowledged one disclosure item of one product of a proposal revision (manual 六)."""

    __tablename__ = "disclosure_acknowledgments"
    __table_args__ = (
        Index("ix_disclosure_acknowledgments_proposal", "proposal_id", "revision"),
        CheckConstraint("item IN ('exclusions', 'non_guaranteed_benefits', 'waiting_period')", name="item"),
        CheckConstraint("channel IN ('in_person', 'video', 'remote')", name="channel"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    proposal_id: uuid.UUID = Field(nullable=False)
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    product_id: uuid.UUID = Field(nullable=False)
    item: str = Field(sa_column=Column(String(30), nullable=False))
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    disclosure_version: int = Field(sa_column=Column(Integer, nullable=False))
    acknowledged_at: datetime = Field(sa_column=_now_column())
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class InformedChoice(PoliciesTable, table=True):
    """The client chose to keep a plan against a finding of the manual's checks, with a reason."""

    __tablename__ = "informed_choices"
    __table_args__ = (Index("ix_informed_choices_proposal", "proposal_id", "revision"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    proposal_id: uuid.UUID = Field(nullable=False)
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    finding_code: str = Field(sa_column=Column(String(40), nullable=False))
    item_id: uuid.UUID | None = Field(default=None, nullable=True)
    reason: str = Field(sa_column=Column(String(1000), nullable=False))
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class TraceabilityRecord(PoliciesTable, table=True):
    """The audio-video recording of a sale that the traceability rules require (可回溯, 2017)."""

    __tablename__ = "traceability_records"
    __table_args__ = (
        UniqueConstraint("application_id", name="uq_traceability_records_application"),
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(nullable=False)
    recording_reference: str = Field(sa_column=Column(String(200), nullable=False))
    started_at: datetime = Field(sa_column=_now_column())
    ended_at: datetime = Field(sa_column=_now_column())
    confirmed_items: list[str] = Field(sa_column=Column(ARRAY(String(40)), nullable=False))
    recorded_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class ConsentHold(PoliciesTable, table=True):
    """Open work that lost a consent it depends on: flagged from the withdrawal on (manual 六.2)."""

    __tablename__ = "consent_holds"
    __table_args__ = (
        Index("ix_consent_holds_application", "application_id"),
        Index("ix_consent_holds_team", "team_id", "raised_at"),
        Index("ix_consent_holds_owner", "owner_agent_id", "raised_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(nullable=False)
    client_id: uuid.UUID = Field(nullable=False)
    owner_agent_id: uuid.UUID = Field(nullable=False)
    team_id: uuid.UUID | None = Field(default=None, nullable=True)
    purpose: str = Field(sa_column=Column(String(30), nullable=False))
    raised_at: datetime = Field(sa_column=_now_column())
