"""policies schema: the admin-wide reads of issue 21 walk an index instead of the whole book.

- Policies keep their client's last annual review (``client_reviewed_on``, filled here from the
  reviews recorded so far) and three partial indexes (owner, team, all) on the review due date of
  each live policy, so the reviews due are read in due order instead of grouping every policy.
- The business report and the compliance findings count over a period by one date each: an index
  per date basis (applications applied, submitted, decided; policies issued, ended).

Revision ID: policies_0007
Revises: policies_0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "policies_0007"
down_revision = "policies_0006"
branch_labels = None
depends_on = None

SCHEMA = "policies"
LIVE = sa.text("status IN ('receipt_signed', 'return_visit_done', 'in_force')")
REVIEW_DUE_ON = sa.text("(CAST(COALESCE(client_reviewed_on, effective_on) + interval '1 year' AS date))")


def upgrade() -> None:
    op.add_column("policies", sa.Column("client_reviewed_on", sa.Date(), nullable=True), schema=SCHEMA)
    op.execute(
        "UPDATE policies.policies p SET client_reviewed_on = r.last_reviewed_on"
        " FROM (SELECT client_id, max(reviewed_on) AS last_reviewed_on FROM policies.policy_reviews"
        " GROUP BY client_id) r WHERE r.client_id = p.client_id"
    )
    op.create_index(
        "ix_policies_owner_review_due",
        "policies",
        ["owner_agent_id", REVIEW_DUE_ON, "client_id"],
        postgresql_where=LIVE,
        schema=SCHEMA,
    )
    op.create_index(
        "ix_policies_team_review_due",
        "policies",
        ["team_id", REVIEW_DUE_ON, "client_id"],
        postgresql_where=LIVE,
        schema=SCHEMA,
    )
    op.create_index(
        "ix_policies_review_due",
        "policies",
        [REVIEW_DUE_ON, "client_id"],
        postgresql_where=LIVE,
        schema=SCHEMA,
    )
    op.create_index("ix_policies_issued", "policies", ["issued_on"], schema=SCHEMA)
    op.create_index(
        "ix_policies_ended",
        "policies",
        ["ended_on"],
        postgresql_where=sa.text("ended_on IS NOT NULL"),
        schema=SCHEMA,
    )
    op.create_index("ix_applications_applied", "applications", ["applied_on", "id"], schema=SCHEMA)
    op.create_index(
        "ix_applications_submitted",
        "applications",
        ["submitted_on"],
        postgresql_where=sa.text("submitted_on IS NOT NULL"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_applications_decided",
        "applications",
        ["decided_on"],
        postgresql_where=sa.text("decided_on IS NOT NULL"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table, name in (
        ("applications", "ix_applications_decided"),
        ("applications", "ix_applications_submitted"),
        ("applications", "ix_applications_applied"),
        ("policies", "ix_policies_ended"),
        ("policies", "ix_policies_issued"),
        ("policies", "ix_policies_review_due"),
        ("policies", "ix_policies_team_review_due"),
        ("policies", "ix_policies_owner_review_due"),
    ):
        op.drop_index(name, table_name=table, schema=SCHEMA)
    op.drop_column("policies", "client_reviewed_on", schema=SCHEMA)
