"""claims schema: the business report's periods read an index (claims reported, claims paid).

At 1,000,000 clients (25,000 claims) both figures read the whole table for a period of days.

Revision ID: claims_0006
Revises: claims_0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "claims_0006"
down_revision = "claims_0005"
branch_labels = None
depends_on = None

SCHEMA = "claims"


def upgrade() -> None:
    op.create_index("ix_claims_reported", "claims", ["reported_on"], schema=SCHEMA)
    op.create_index(
        "ix_claims_paid",
        "claims",
        ["paid_on"],
        postgresql_where=sa.text("paid_on IS NOT NULL"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index("ix_claims_paid", table_name="claims", schema=SCHEMA)
    op.drop_index("ix_claims_reported", table_name="claims", schema=SCHEMA)
