"""Users get a work location (office or branch): devices there are theirs to check.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("location", sa.String(100), nullable=True), schema="identity")


def downgrade() -> None:
    op.drop_column("users", "location", schema="identity")
