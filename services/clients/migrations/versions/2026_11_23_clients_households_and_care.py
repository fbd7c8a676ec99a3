"""clients schema: households, family, tiering, needs analysis, interactions, milestones,
complaints and consent.

Revision ID: clients_0002
Revises: clients_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "clients_0002"
down_revision = "clients_0001"
branch_labels = None
depends_on = None

SCHEMA = "clients"
LIVE = sa.text("deleted_at IS NULL")


def _month_day(column: str) -> sa.Computed:
    return sa.Computed(
        f"((extract(month from {column}) * 100 + extract(day from {column}))::smallint)", persisted=True
    )


def _money(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(14, 2), nullable=True)


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _by_client_recent(table: str) -> None:
    op.create_index(
        f"ix_{table}_client_recent",
        table,
        ["client_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )


def upgrade() -> None:
    op.add_column("clients", sa.Column("next_follow_up_on", sa.Date(), nullable=True), schema=SCHEMA)
    op.add_column(
        "clients", sa.Column("birth_md", sa.SmallInteger(), _month_day("birth_date")), schema=SCHEMA
    )
    for scope in ("owner_agent_id", "team_id"):
        short = "owner" if scope == "owner_agent_id" else "team"
        op.create_index(
            f"ix_clients_{short}_follow_up",
            "clients",
            [scope, "next_follow_up_on"],
            schema=SCHEMA,
            postgresql_where=LIVE,
        )
        op.create_index(
            f"ix_clients_{short}_birth_md",
            "clients",
            [scope, "birth_md"],
            schema=SCHEMA,
            postgresql_where=LIVE,
        )

    op.create_table(
        "households",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        _money("annual_income"),
        _money("mortgage_balance"),
        _money("mortgage_monthly_payment"),
        _money("other_liabilities"),
        _money("monthly_expenses"),
        _money("annual_education_spending"),
        _money("annual_elder_care_spending"),
        sa.Column("client_is_breadwinner", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("client_id", name="pk_households"),
        schema=SCHEMA,
    )
    op.create_table(
        "household_incomes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("annual_income", sa.Numeric(14, 2), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_household_incomes"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_household_incomes_client_recent",
        "household_incomes",
        ["client_id", sa.text("recorded_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )

    op.create_table(
        "family_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("relationship", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("gender", sa.String(20), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_md", sa.SmallInteger(), _month_day("birth_date")),
        sa.Column("is_dependent", sa.Boolean(), nullable=False),
        sa.Column("is_decision_maker", sa.Boolean(), nullable=False),
        sa.Column("is_breadwinner", sa.Boolean(), nullable=False),
        _money("annual_income"),
        sa.Column("member_client_id", sa.Uuid(), nullable=True),
        sa.Column("notes", sa.String(1000), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_family_members"),
        sa.CheckConstraint(
            "relationship IN ('spouse', 'child', 'parent', 'other')",
            name="ck_family_members_relationship_known",
        ),
        sa.CheckConstraint(
            "gender IN ('male', 'female', 'undisclosed')", name="ck_family_members_gender_known"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_family_members_one_decision_maker",
        "family_members",
        ["client_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("is_decision_maker"),
    )
    _by_client_recent("family_members")
    op.create_index("ix_family_members_birth_md", "family_members", ["birth_md"], schema=SCHEMA)

    op.create_table(
        "tier_assessments",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("need_score", sa.SmallInteger(), nullable=True),
        sa.Column("capacity_score", sa.SmallInteger(), nullable=True),
        sa.Column("decision_score", sa.SmallInteger(), nullable=True),
        sa.Column("life_events", postgresql.JSONB(), nullable=False),
        sa.Column("need_evidence", sa.String(1000), nullable=True),
        sa.Column("capacity_evidence", sa.String(1000), nullable=True),
        sa.Column("decision_evidence", sa.String(1000), nullable=True),
        sa.Column("computed_tier", sa.String(1), nullable=True),
        sa.Column("override_tier", sa.String(1), nullable=True),
        sa.Column("override_reason", sa.String(500), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("client_id", name="pk_tier_assessments"),
        sa.CheckConstraint("need_score BETWEEN 1 AND 5", name="ck_tier_assessments_need_score_range"),
        sa.CheckConstraint("capacity_score BETWEEN 1 AND 5", name="ck_tier_assessments_capacity_score_range"),
        sa.CheckConstraint("decision_score BETWEEN 1 AND 5", name="ck_tier_assessments_decision_score_range"),
        sa.CheckConstraint(
            "computed_tier IN ('A', 'B', 'C')", name="ck_tier_assessments_computed_tier_known"
        ),
        sa.CheckConstraint(
            "override_tier IN ('A', 'B', 'C')", name="ck_tier_assessments_override_tier_known"
        ),
        sa.CheckConstraint(
            "(override_tier IS NULL) = (override_reason IS NULL)",
            name="ck_tier_assessments_override_has_reason",
        ),
        schema=SCHEMA,
    )

    op.create_table(
        "tier_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("from_tier", sa.String(1), nullable=True),
        sa.Column("to_tier", sa.String(1), nullable=True),
        sa.Column("computed_tier", sa.String(1), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("scores", postgresql.JSONB(), nullable=False),
        sa.Column("changed_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tier_changes"),
        sa.CheckConstraint(
            "source IN ('scores', 'override', 'override_cleared')", name="ck_tier_changes_source_known"
        ),
        schema=SCHEMA,
    )
    _by_client_recent("tier_changes")

    op.create_table(
        "needs_assessments",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        _money("client_annual_income"),
        sa.Column("family_structure_note", sa.String(1000), nullable=True),
        sa.Column("occupational_risk_note", sa.String(1000), nullable=True),
        sa.Column("social_insurance", postgresql.JSONB(), nullable=False),
        sa.Column("existing_policies", postgresql.JSONB(), nullable=False),
        _money("target_critical_illness"),
        _money("target_accident"),
        _money("target_medical"),
        _money("target_death"),
        sa.Column("education_goals", postgresql.JSONB(), nullable=False),
        sa.Column("pension_goal", postgresql.JSONB(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("client_id", name="pk_needs_assessments"),
        schema=SCHEMA,
    )

    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=True),
        sa.Column("outcome", sa.String(2000), nullable=True),
        sa.Column("next_follow_up_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
        sa.CheckConstraint(
            "kind IN ('appointment', 'visit', 'call', 'note')", name="ck_interactions_kind_known"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_interactions_client_at",
        "interactions",
        ["client_id", sa.text("at DESC"), sa.text("created_at DESC")],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_interactions_appointments",
        "interactions",
        ["at"],
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'appointment'"),
    )

    op.create_table(
        "milestones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("family_member_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("occurs_on", sa.Date(), nullable=False),
        sa.Column("occurs_md", sa.SmallInteger(), _month_day("occurs_on")),
        sa.Column("recurs_yearly", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.String(1000), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_milestones"),
        sa.CheckConstraint(
            "kind IN ('school_entry', 'elder_birthday_banquet', 'custom')", name="ck_milestones_kind_known"
        ),
        schema=SCHEMA,
    )
    _by_client_recent("milestones")
    op.create_index("ix_milestones_occurs_on", "milestones", ["occurs_on"], schema=SCHEMA)
    op.create_index(
        "ix_milestones_yearly_md",
        "milestones",
        ["occurs_md"],
        schema=SCHEMA,
        postgresql_where=sa.text("recurs_yearly"),
    )

    op.create_table(
        "complaints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("compliance_findings", postgresql.JSONB(), nullable=False),
        sa.Column("summary", sa.String(2000), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("facts", sa.String(4000), nullable=True),
        sa.Column("resolution", sa.String(4000), nullable=True),
        sa.Column("report_summary", sa.String(4000), nullable=True),
        sa.Column("lessons_learned", sa.String(4000), nullable=True),
        sa.Column("investigating_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.Uuid(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.CheckConstraint(
            "status IN ('received', 'investigating', 'resolved', 'reported')",
            name="ck_complaints_status_known",
        ),
        schema=SCHEMA,
    )
    _by_client_recent("complaints")

    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column("text_version", sa.String(50), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.String(500), nullable=True),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.CheckConstraint(
            "purpose IN ('personal_data', 'marketing', 'sharing_with_insurer')",
            name="ck_consents_purpose_known",
        ),
        schema=SCHEMA,
    )
    _by_client_recent("consents")
    op.create_index(
        "ix_consents_active",
        "consents",
        ["client_id", "purpose"],
        schema=SCHEMA,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )


def downgrade() -> None:
    for table in (
        "consents",
        "complaints",
        "milestones",
        "interactions",
        "needs_assessments",
        "tier_changes",
        "tier_assessments",
        "family_members",
        "household_incomes",
        "households",
    ):
        op.drop_table(table, schema=SCHEMA)
    for index in (
        "ix_clients_owner_follow_up",
        "ix_clients_team_follow_up",
        "ix_clients_owner_birth_md",
        "ix_clients_team_birth_md",
    ):
        op.drop_index(index, table_name="clients", schema=SCHEMA)
    op.drop_column("clients", "birth_md", schema=SCHEMA)
    op.drop_column("clients", "next_follow_up_on", schema=SCHEMA)
