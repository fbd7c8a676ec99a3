"""claims schema: a claim whose incident falls inside the policy's waiting period is flagged.

The policies service says whether the policy covered the incident date and whether that day was
inside the product's waiting period (等待期); such a claim is accepted (the insurer decides) and
carries the flag and the day the waiting period ended.

Revision ID: claims_0004_cover
Revises: claims_0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "claims_0004_cover"
down_revision = "claims_0003"
branch_labels = None
depends_on = None

SCHEMA = "claims"


def upgrade() -> None:
    op.add_column(
        "claims",
        sa.Column("in_waiting_period", sa.Boolean(), nullable=False, server_default=sa.false()),
        schema=SCHEMA,
    )
    op.add_column("claims", sa.Column("waiting_period_ends_on", sa.Date(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("claims", "waiting_period_ends_on", schema=SCHEMA)
    op.drop_column("claims", "in_waiting_period", schema=SCHEMA)
