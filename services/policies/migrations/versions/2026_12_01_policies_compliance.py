"""policies schema: compliance enforced (issue 17) — product disclosures, disclosure
acknowledgments, informed choices against the plan rules, traceability records (可回溯) and the
traceability reasons of an application, holds on open work after a consent is withdrawn.

Existing products take disclosure version 1 with no exclusions and nothing non-guaranteed;
existing applications met no traceability rule (the table did not exist when they were drafted).

Revision ID: policies_0006
Revises: policies_0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "policies_0006"
down_revision = "policies_0005"
branch_labels = None
depends_on = None

SCHEMA = "policies"
EMPTY_JSON = sa.text("'[]'::jsonb")


def _stamp() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    for name in ("exclusions", "guaranteed_benefits", "non_guaranteed_benefits"):
        op.add_column(
            "products", sa.Column(name, JSONB(), nullable=False, server_default=EMPTY_JSON), schema=SCHEMA
        )
    op.add_column("products", sa.Column("non_guaranteed_basis", sa.String(20), nullable=True), schema=SCHEMA)
    op.add_column(
        "products", sa.Column("max_illustrated_rate", sa.Numeric(5, 2), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "products",
        sa.Column("recording_required", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        schema=SCHEMA,
    )
    op.add_column(
        "products",
        sa.Column("disclosure_version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        schema=SCHEMA,
    )
    op.execute(
        "ALTER TABLE policies.products ADD CONSTRAINT ck_products_non_guaranteed_basis"
        " CHECK (non_guaranteed_basis IN ('participating', 'universal', 'investment_linked'))"
    )
    op.execute(
        "ALTER TABLE policies.products ADD CONSTRAINT ck_products_max_illustrated_rate"
        " CHECK (max_illustrated_rate > 0 AND max_illustrated_rate <= 100)"
    )
    op.add_column(
        "applications",
        sa.Column(
            "traceability_reasons",
            ARRAY(sa.String(40)),
            nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "disclosure_acknowledgments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("item", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("disclosure_version", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        _stamp(),
        sa.PrimaryKeyConstraint("id", name="pk_disclosure_acknowledgments"),
        sa.CheckConstraint(
            "item IN ('exclusions', 'non_guaranteed_benefits', 'waiting_period')",
            name="ck_disclosure_acknowledgments_item",
        ),
        sa.CheckConstraint(
            "channel IN ('in_person', 'video', 'remote')", name="ck_disclosure_acknowledgments_channel"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_disclosure_acknowledgments_proposal",
        "disclosure_acknowledgments",
        ["proposal_id", "revision"],
        schema=SCHEMA,
    )
    op.create_table(
        "informed_choices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("finding_code", sa.String(40), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        _stamp(),
        sa.PrimaryKeyConstraint("id", name="pk_informed_choices"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_informed_choices_proposal", "informed_choices", ["proposal_id", "revision"], schema=SCHEMA
    )
    op.create_table(
        "traceability_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("recording_reference", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_items", ARRAY(sa.String(40)), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        _stamp(),
        sa.PrimaryKeyConstraint("id", name="pk_traceability_records"),
        sa.UniqueConstraint("application_id", name="uq_traceability_records_application"),
        sa.CheckConstraint("ended_at > started_at", name="ck_traceability_records_ends_after_start"),
        schema=SCHEMA,
    )
    op.create_table(
        "consent_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_holds"),
        schema=SCHEMA,
    )
    op.create_index("ix_consent_holds_application", "consent_holds", ["application_id"], schema=SCHEMA)
    op.create_index("ix_consent_holds_team", "consent_holds", ["team_id", "raised_at"], schema=SCHEMA)
    op.create_index("ix_consent_holds_owner", "consent_holds", ["owner_agent_id", "raised_at"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("consent_holds", "traceability_records", "informed_choices", "disclosure_acknowledgments"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_column("applications", "traceability_reasons", schema=SCHEMA)
    op.execute("ALTER TABLE policies.products DROP CONSTRAINT ck_products_max_illustrated_rate")
    op.execute("ALTER TABLE policies.products DROP CONSTRAINT ck_products_non_guaranteed_basis")
    for name in (
        "disclosure_version",
        "recording_required",
        "max_illustrated_rate",
        "non_guaranteed_basis",
        "non_guaranteed_benefits",
        "guaranteed_benefits",
        "exclusions",
    ):
        op.drop_column("products", name, schema=SCHEMA)
