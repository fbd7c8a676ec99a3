"""policies schema: products, proposals, applications, requirements, policies, premium dues.

Revision ID: policies_0002
Revises: policies_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "policies_0002"
down_revision = "policies_0001"
branch_labels = None
depends_on = None

SCHEMA = "policies"
MONEY = sa.Numeric(14, 2)
LIVE_POLICY = sa.text("status IN ('receipt_signed', 'return_visit_done', 'in_force')")
PENDING = sa.text("status = 'pending'")
DUE = sa.text("status = 'due'")
RECEIPT_SIGNED = sa.text("status = 'receipt_signed'")


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _scoped_indexes(table: str) -> None:
    order = [sa.text("created_at DESC"), sa.text("id DESC")]
    op.create_index(f"ix_{table}_owner_recent", table, ["owner_agent_id", *order], schema=SCHEMA)
    op.create_index(f"ix_{table}_team_recent", table, ["team_id", *order], schema=SCHEMA)
    op.create_index(f"ix_{table}_recent", table, order, schema=SCHEMA)
    op.create_index(f"ix_{table}_client_recent", table, ["client_id", *order], schema=SCHEMA)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("insurer", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("min_insured_age", sa.SmallInteger(), nullable=False),
        sa.Column("max_insured_age", sa.SmallInteger(), nullable=False),
        sa.Column("payment_years", ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("cooling_off_days", sa.SmallInteger(), nullable=False),
        sa.Column("walls", ARRAY(sa.String(20)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("insurer", "name", name="uq_products_insurer_name"),
        sa.CheckConstraint("min_insured_age <= max_insured_age", name="ck_products_age_range"),
        sa.CheckConstraint("cooling_off_days BETWEEN 0 AND 366", name="ck_products_cooling_off_range"),
        schema=SCHEMA,
    )
    op.create_index("ix_products_listing", "products", ["insurer", "name", "id"], schema=SCHEMA)

    op.create_table(
        "proposals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.Column("accepted_revision", sa.Integer(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
        schema=SCHEMA,
    )
    _scoped_indexes("proposals")

    op.create_table(
        "proposal_revisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("items", JSONB(), nullable=False),
        sa.Column("findings", JSONB(), nullable=False),
        sa.Column("total_annual_premium", MONEY, nullable=False),
        sa.Column("household_annual_income", MONEY, nullable=True),
        sa.Column("client_feedback", sa.String(2000), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proposal_revisions"),
        sa.UniqueConstraint("proposal_id", "revision", name="uq_proposal_revisions_revision"),
        schema=SCHEMA,
    )

    op.create_table(
        "applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("insured_member_id", sa.Uuid(), nullable=True),
        sa.Column("insured_name", sa.String(100), nullable=False),
        sa.Column("insured_birth_date", sa.Date(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=True),
        sa.Column("proposal_item_id", sa.Uuid(), nullable=True),
        sa.Column("sum_insured", MONEY, nullable=False),
        sa.Column("annual_premium", MONEY, nullable=False),
        sa.Column("payment_years", sa.SmallInteger(), nullable=False),
        sa.Column("beneficiaries", JSONB(), nullable=False),
        sa.Column("health_disclosure_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("health_questions", sa.SmallInteger(), nullable=False),
        sa.Column("health_yes_answers", sa.SmallInteger(), nullable=False),
        sa.Column("occupation_code", sa.String(20), nullable=False),
        sa.Column("guardian_signature", JSONB(), nullable=True),
        sa.Column("pre_underwriting_opinion", sa.String(20), nullable=True),
        sa.Column("pre_underwriting_on", sa.Date(), nullable=True),
        sa.Column("pre_underwriting_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("status_reason", sa.String(1000), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.CheckConstraint("sum_insured > 0 AND annual_premium > 0", name="ck_applications_positive_amounts"),
        schema=SCHEMA,
    )
    _scoped_indexes("applications")

    op.create_table(
        "underwriting_requirements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_underwriting_requirements"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_underwriting_requirements_application",
        "underwriting_requirements",
        ["application_id", "created_at"],
        schema=SCHEMA,
    )
    for name, lead in (
        ("ix_requirements_owner_due", ["owner_agent_id"]),
        ("ix_requirements_team_due", ["team_id"]),
    ):
        op.create_index(
            name,
            "underwriting_requirements",
            [*lead, "due_on", "id"],
            schema=SCHEMA,
            postgresql_where=PENDING,
        )
    op.create_index(
        "ix_requirements_due",
        "underwriting_requirements",
        ["due_on", "id"],
        schema=SCHEMA,
        postgresql_where=PENDING,
    )

    op.create_table(
        "policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("policy_number", sa.String(40), nullable=False),
        sa.Column("insurer", sa.String(100), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("insured_member_id", sa.Uuid(), nullable=True),
        sa.Column("insured_name", sa.String(100), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("sum_insured", MONEY, nullable=False),
        sa.Column("annual_premium", MONEY, nullable=False),
        sa.Column("payment_years", sa.SmallInteger(), nullable=False),
        sa.Column("walls", ARRAY(sa.String(20)), nullable=False),
        sa.Column("cooling_off_days", sa.SmallInteger(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("receipt_signed_on", sa.Date(), nullable=True),
        sa.Column("cooling_off_ends_on", sa.Date(), nullable=True),
        sa.Column("return_visit", JSONB(), nullable=True),
        sa.Column("in_force_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("refund_amount", MONEY, nullable=True),
        sa.Column("surrender_value", MONEY, nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_policies"),
        sa.UniqueConstraint("insurer", "policy_number", name="uq_policies_insurer_number"),
        schema=SCHEMA,
    )
    _scoped_indexes("policies")
    op.create_index("ix_policies_application", "policies", ["application_id"], unique=True, schema=SCHEMA)
    for suffix, lead in (("owner_", ["owner_agent_id"]), ("team_", ["team_id"]), ("", [])):
        op.create_index(
            f"ix_policies_{suffix}cooling_off",
            "policies",
            [*lead, "cooling_off_ends_on", "id"],
            schema=SCHEMA,
            postgresql_where=LIVE_POLICY,
        )
        op.create_index(
            f"ix_policies_{suffix}visit_pending",
            "policies",
            [*lead, "receipt_signed_on", "id"],
            schema=SCHEMA,
            postgresql_where=RECEIPT_SIGNED,
        )

    op.create_table(
        "premium_dues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("instalment", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_premium_dues"),
        sa.UniqueConstraint("policy_id", "instalment", name="uq_premium_dues_instalment"),
        schema=SCHEMA,
    )
    for suffix, lead in (("owner_", ["owner_agent_id"]), ("team_", ["team_id"]), ("", [])):
        op.create_index(
            f"ix_premium_dues_{suffix}due",
            "premium_dues",
            [*lead, "due_on", "id"],
            schema=SCHEMA,
            postgresql_where=DUE,
        )


def downgrade() -> None:
    for table in (
        "premium_dues",
        "policies",
        "underwriting_requirements",
        "applications",
        "proposal_revisions",
        "proposals",
        "products",
    ):
        op.drop_table(table, schema=SCHEMA)
