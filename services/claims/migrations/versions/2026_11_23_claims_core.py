"""claims schema: claims, their document checklists and their timeline.

Revision ID: claims_0002
Revises: claims_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "claims_0002"
down_revision = "claims_0001"
branch_labels = None
depends_on = None

SCHEMA = "claims"
OPEN = "closed_at IS NULL"
AWAITING_DECISION = "status IN ('submitted', 'under_review')"
DOCUMENTS_OUTSTANDING = "documents_missing_since IS NOT NULL AND closed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("policy_number", sa.String(64), nullable=True),
        sa.Column("insurer", sa.String(100), nullable=True),
        sa.Column("product_name", sa.String(200), nullable=True),
        sa.Column("claim_type", sa.String(32), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("description", sa.String(4000), nullable=True),
        sa.Column("claimed_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("claimant_name", sa.String(100), nullable=False),
        sa.Column("claimant_relationship", sa.String(20), nullable=False),
        sa.Column("bank_name", sa.String(100), nullable=True),
        sa.Column("bank_account_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("bank_account_masked", sa.String(40), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("decision_due_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("approved_amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("paid_amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("closing_reason", sa.String(1000), nullable=True),
        sa.Column("last_client_update_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("documents_missing_since", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
        sa.CheckConstraint(
            "claim_type IN ('critical_illness', 'medical', 'accident', 'death', 'disability')",
            name="ck_claims_claim_type_known",
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'collecting_documents', 'submitted', 'under_review',"
            " 'more_information_requested', 'approved', 'paid', 'rejected', 'withdrawn')",
            name="ck_claims_status_known",
        ),
        sa.CheckConstraint("claimed_amount > 0", name="ck_claims_claimed_amount_positive"),
        sa.CheckConstraint(
            "approved_amount IS NULL OR approved_amount > 0", name="ck_claims_approved_amount_positive"
        ),
        sa.CheckConstraint("paid_amount IS NULL OR paid_amount > 0", name="ck_claims_paid_amount_positive"),
        sa.CheckConstraint("(status = 'paid') = (paid_amount IS NOT NULL)", name="ck_claims_paid_has_amount"),
        sa.CheckConstraint("incident_date <= reported_on", name="ck_claims_reported_after_incident"),
        schema=SCHEMA,
    )
    recent = [sa.text("created_at DESC"), sa.text("id DESC")]
    op.create_index("ix_claims_owner_recent", "claims", ["owner_agent_id", *recent], schema=SCHEMA)
    op.create_index("ix_claims_team_recent", "claims", ["team_id", *recent], schema=SCHEMA)
    op.create_index("ix_claims_recent", "claims", recent, schema=SCHEMA)
    op.create_index("ix_claims_client_recent", "claims", ["client_id", *recent], schema=SCHEMA)
    op.create_index("ix_claims_policy_recent", "claims", ["policy_id", *recent], schema=SCHEMA)
    for name, keys, where in (
        ("updates_due", ["last_client_update_at", "id"], OPEN),
        ("decision_due", ["decision_due_on", "id"], AWAITING_DECISION),
        ("documents_missing", ["documents_missing_since", "id"], DOCUMENTS_OUTSTANDING),
    ):
        predicate = sa.text(where)
        op.create_index(
            f"ix_claims_owner_{name}",
            "claims",
            ["owner_agent_id", *keys],
            schema=SCHEMA,
            postgresql_where=predicate,
        )
        op.create_index(
            f"ix_claims_team_{name}", "claims", ["team_id", *keys], schema=SCHEMA, postgresql_where=predicate
        )
        op.create_index(f"ix_claims_all_{name}", "claims", keys, schema=SCHEMA, postgresql_where=predicate)

    op.create_table(
        "claim_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outstanding_since", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.String(1000), nullable=True),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claim_documents"),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            [f"{SCHEMA}.claims.id"],
            name="fk_claim_documents_claim_id_claims",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("claim_id", "code", name="uq_claim_documents_claim_id_code"),
        sa.CheckConstraint(
            "status IN ('missing', 'received', 'submitted', 'rejected')",
            name="ck_claim_documents_status_known",
        ),
        sa.CheckConstraint(
            "(status = 'rejected') = (rejection_reason IS NOT NULL)",
            name="ck_claim_documents_rejected_has_reason",
        ),
        schema=SCHEMA,
    )

    op.create_table(
        "claim_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("summary", sa.String(2000), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claim_events"),
        sa.ForeignKeyConstraint(
            ["claim_id"], [f"{SCHEMA}.claims.id"], name="fk_claim_events_claim_id_claims", ondelete="CASCADE"
        ),
        sa.CheckConstraint("kind IN ('status_changed', 'client_update')", name="ck_claim_events_kind_known"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_claim_events_claim_timeline", "claim_events", ["claim_id", "occurred_at", "id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("claim_events", schema=SCHEMA)
    op.drop_table("claim_documents", schema=SCHEMA)
    op.drop_table("claims", schema=SCHEMA)
