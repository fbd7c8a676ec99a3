"""policies schema: insurer references on decisions and issue, return visits whatever their outcome,
compliance flags, recorded annual reviews (issue 16, items 5, 6, 7).

Revision ID: policies_0005
Revises: policies_0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "policies_0005"
down_revision = "policies_0004"
branch_labels = None
depends_on = None

SCHEMA = "policies"
OPEN_FLAG = sa.text("resolved_on IS NULL")


def upgrade() -> None:
    # The day the client signed the application (投保日): the first date of the evidence chain.
    # Existing applications take the business-local day they were recorded.
    op.add_column("applications", sa.Column("applied_on", sa.Date(), nullable=True), schema=SCHEMA)
    op.execute(
        f"UPDATE {SCHEMA}.applications SET applied_on = (created_at AT TIME ZONE 'Asia/Shanghai')::date"  # noqa: S608
    )
    op.alter_column("applications", "applied_on", nullable=False, schema=SCHEMA)
    op.add_column(
        "applications", sa.Column("decision_reference", sa.String(100), nullable=True), schema=SCHEMA
    )
    op.add_column("policies", sa.Column("issue_reference", sa.String(100), nullable=True), schema=SCHEMA)
    # Visits recorded before this revision all passed (a failed one could not be stored): keep them.
    op.create_table(
        "return_visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("understood_cover", sa.Boolean(), nullable=True),
        sa.Column("signed_personally", sa.Boolean(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_return_visits"),
        sa.CheckConstraint(
            "reached OR (understood_cover IS NULL AND signed_personally IS NULL)",
            name="ck_return_visits_unreached_no_answers",
        ),
        sa.CheckConstraint(
            "passed = (reached AND coalesce(understood_cover, false) AND coalesce(signed_personally, false))",
            name="ck_return_visits_passed_rule",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_return_visits_policy", "return_visits", ["policy_id", "visited_on", "created_at"], schema=SCHEMA
    )
    # A policy without a visit may hold JSON null (not SQL NULL) in `return_visit`: only objects
    # that name their day are visits.
    op.execute(
        f"""INSERT INTO {SCHEMA}.return_visits (id, policy_id, owner_agent_id, team_id, visited_on, reached,
                understood_cover, signed_personally, passed, recorded_by, created_at)
            SELECT gen_random_uuid(), id, owner_agent_id, team_id, (return_visit->>'visited_on')::date, true,
                   true, true, true, 'migration', updated_at
            FROM {SCHEMA}.policies WHERE return_visit->>'visited_on' IS NOT NULL"""  # noqa: S608 - constants
    )
    op.create_table(
        "compliance_flags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("reasons", ARRAY(sa.String(40)), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.String(1000), nullable=True),
        sa.Column("resolved_by", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_flags"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_compliance_flags_policy", "compliance_flags", ["policy_id", "raised_on"], schema=SCHEMA
    )
    for name, lead in (
        ("ix_compliance_flags_team_open", ["team_id"]),
        ("ix_compliance_flags_owner_open", ["owner_agent_id"]),
        ("ix_compliance_flags_open", []),
    ):
        op.create_index(
            name, "compliance_flags", [*lead, "raised_on", "id"], schema=SCHEMA, postgresql_where=OPEN_FLAG
        )
    op.create_table(
        "policy_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("findings", JSONB(), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_reviews"),
        schema=SCHEMA,
    )
    op.create_index("ix_policy_reviews_client", "policy_reviews", ["client_id", "reviewed_on"], schema=SCHEMA)
    op.create_index("ix_policy_reviews_team", "policy_reviews", ["team_id", "reviewed_on"], schema=SCHEMA)
    op.create_index(
        "ix_policy_reviews_owner", "policy_reviews", ["owner_agent_id", "reviewed_on"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("policy_reviews", schema=SCHEMA)
    op.drop_table("compliance_flags", schema=SCHEMA)
    op.drop_table("return_visits", schema=SCHEMA)
    op.drop_column("policies", "issue_reference", schema=SCHEMA)
    op.drop_column("applications", "decision_reference", schema=SCHEMA)
    op.drop_column("applications", "applied_on", schema=SCHEMA)
