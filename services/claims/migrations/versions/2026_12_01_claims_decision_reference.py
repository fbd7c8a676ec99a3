"""claims schema: the insurer's reference for its claim decision (issue 16, item 5).

Decisions recorded before this revision have none (they were taken without evidence).

Revision ID: claims_0005
Revises: claims_0004_cover
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "claims_0005"
down_revision = "claims_0004_cover"
branch_labels = None
depends_on = None

SCHEMA = "claims"


def upgrade() -> None:
    op.add_column("claims", sa.Column("decision_reference", sa.String(100), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("claims", "decision_reference", schema=SCHEMA)
