"""policies schema: product terms, premium payments, grace/lapse/reinstatement, expiry and renewal.

Products gain their coverage term, premium mode, grace days (保险法 §36: 60 by default), waiting
period and guaranteed-renewable flag. Policies copy them at issue and gain the dates the scheduled
sweep keeps (lapse, expiry, termination, cooling-off noted, renewal notices). Payments are rows of
their own (amount, date, method, reference).

Existing rows: medical and accident products become one-year renewable (their policies expire a
year after they took effect, as the contracts say); the others keep whole-life cover, since the
catalogue never recorded a term. Existing policies whose cooling-off period already ended count
as noted, so the first sweep does not announce years of history.

Revision ID: policies_0004
Revises: policies_0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "policies_0004"
down_revision = "policies_0003"
branch_labels = None
depends_on = None

SCHEMA = "policies"
MONEY = sa.Numeric(14, 2)
SWEPT = sa.text("status IN ('issued', 'receipt_signed', 'return_visit_done', 'in_force', 'lapsed')")
LAPSED = sa.text("status = 'lapsed'")
ONE_YEAR = ("million_medical", "small_medical", "accident")
CHECKS = {
    "ck_products_coverage_term": "coverage_term IN ('years', 'to_age', 'whole_life', 'one_year_renewable')"
    " AND ((coverage_term IN ('years', 'to_age')) = (coverage_years IS NOT NULL))",
    "ck_products_premium_mode": "premium_mode IN ('single', 'annual', 'semi_annual', 'quarterly', 'monthly')",
    "ck_products_grace_days": "grace_days BETWEEN 30 AND 366",
    "ck_products_waiting_days": "waiting_days BETWEEN 0 AND 366",
}


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("coverage_term", sa.String(30), nullable=False, server_default="whole_life"),
        schema=SCHEMA,
    )
    op.add_column("products", sa.Column("coverage_years", sa.SmallInteger(), nullable=True), schema=SCHEMA)
    op.add_column(
        "products",
        sa.Column("premium_mode", sa.String(20), nullable=False, server_default="annual"),
        schema=SCHEMA,
    )
    op.add_column(
        "products",
        sa.Column("grace_days", sa.SmallInteger(), nullable=False, server_default="60"),
        schema=SCHEMA,
    )
    op.add_column(
        "products",
        sa.Column("waiting_days", sa.SmallInteger(), nullable=False, server_default="0"),
        schema=SCHEMA,
    )
    op.add_column(
        "products",
        sa.Column("guaranteed_renewable", sa.Boolean(), nullable=False, server_default=sa.false()),
        schema=SCHEMA,
    )
    categories = ", ".join(f"'{c}'" for c in ONE_YEAR)
    op.execute(
        f"UPDATE {SCHEMA}.products SET coverage_term = 'one_year_renewable' WHERE category IN ({categories})"  # noqa: S608
    )
    for name, check in CHECKS.items():
        op.execute(f"ALTER TABLE {SCHEMA}.products ADD CONSTRAINT {name} CHECK ({check})")

    for column in (
        sa.Column("coverage_term", sa.String(30), nullable=False, server_default="whole_life"),
        sa.Column("premium_mode", sa.String(20), nullable=False, server_default="annual"),
        sa.Column("grace_days", sa.SmallInteger(), nullable=False, server_default="60"),
        sa.Column("waiting_days", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("renewable", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("waiting_ends_on", sa.Date(), nullable=True),
        sa.Column("lapsed_on", sa.Date(), nullable=True),
        sa.Column("lapses", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("reinstated_on", sa.Date(), nullable=True),
        sa.Column("reinstatement_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("renewed_from_id", sa.Uuid(), nullable=True),
        sa.Column("renewed_to_id", sa.Uuid(), nullable=True),
        sa.Column("renewal_decision", sa.String(20), nullable=True),
        sa.Column("renewal_notice_days", sa.SmallInteger(), nullable=True),
        sa.Column("cooling_off_noted", sa.Boolean(), nullable=False, server_default=sa.false()),
    ):
        op.add_column("policies", column, schema=SCHEMA)
    op.execute(
        f"UPDATE {SCHEMA}.policies p SET coverage_term = pr.coverage_term, renewable ="  # noqa: S608
        f" (pr.coverage_term = 'one_year_renewable') FROM {SCHEMA}.products pr WHERE pr.id = p.product_id"
    )
    op.execute(
        f"UPDATE {SCHEMA}.policies SET expires_on = (effective_on + interval '1 year')::date"  # noqa: S608
        " WHERE coverage_term = 'one_year_renewable'"
    )
    op.execute(
        f"UPDATE {SCHEMA}.policies SET cooling_off_noted = true"  # noqa: S608
        " WHERE cooling_off_ends_on IS NOT NULL AND cooling_off_ends_on < current_date"
    )
    # A renewal is a new term of the same application: one original policy per application.
    op.drop_index("ix_policies_application", table_name="policies", schema=SCHEMA)
    op.create_index(
        "ix_policies_application",
        "policies",
        ["application_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("renewed_from_id IS NULL"),
    )
    op.create_index(
        "ix_policies_renewed_from",
        "policies",
        ["renewed_from_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("renewed_from_id IS NOT NULL"),
    )
    op.create_index(
        "ix_policies_expiring", "policies", ["expires_on", "id"], schema=SCHEMA, postgresql_where=SWEPT
    )
    op.create_index(
        "ix_policies_lapsed", "policies", ["lapsed_on", "id"], schema=SCHEMA, postgresql_where=LAPSED
    )
    op.create_index(
        "ix_policies_cooling_off_unnoted",
        "policies",
        ["cooling_off_ends_on", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("NOT cooling_off_noted AND cooling_off_ends_on IS NOT NULL"),
    )

    op.create_table(
        "premium_payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("premium_due_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_premium_payments"),
        sa.CheckConstraint("amount > 0", name="ck_premium_payments_positive"),
        sa.CheckConstraint(
            "purpose IN ('first_premium', 'instalment', 'arrears', 'renewal')",
            name="ck_premium_payments_purpose",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_premium_payments_application", "premium_payments", ["application_id", "paid_on"], schema=SCHEMA
    )
    op.create_index("ix_premium_payments_policy", "premium_payments", ["policy_id", "paid_on"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("premium_payments", schema=SCHEMA)
    for index in ("ix_policies_cooling_off_unnoted", "ix_policies_lapsed", "ix_policies_expiring"):
        op.drop_index(index, table_name="policies", schema=SCHEMA)
    op.drop_index("ix_policies_renewed_from", table_name="policies", schema=SCHEMA)
    op.drop_index("ix_policies_application", table_name="policies", schema=SCHEMA)
    op.execute(f"DELETE FROM {SCHEMA}.policies WHERE renewed_from_id IS NOT NULL")  # noqa: S608
    op.create_index("ix_policies_application", "policies", ["application_id"], unique=True, schema=SCHEMA)
    for column in (
        "coverage_term",
        "premium_mode",
        "grace_days",
        "waiting_days",
        "renewable",
        "expires_on",
        "waiting_ends_on",
        "lapsed_on",
        "lapses",
        "reinstated_on",
        "reinstatement_cipher",
        "renewed_from_id",
        "renewed_to_id",
        "renewal_decision",
        "renewal_notice_days",
        "cooling_off_noted",
    ):
        op.drop_column("policies", column, schema=SCHEMA)
    for name in CHECKS:
        op.execute(f"ALTER TABLE {SCHEMA}.products DROP CONSTRAINT {name}")
    for column in (
        "coverage_term",
        "coverage_years",
        "premium_mode",
        "grace_days",
        "waiting_days",
        "guaranteed_renewable",
    ):
        op.drop_column("products", column, schema=SCHEMA)
