"""Revocations every app pulls: tokens of a user, session or API key issued before a time.

Revision ID: identity_0006
Revises: identity_0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "identity_0006"
down_revision = "identity_0005"
branch_labels = None
depends_on = None

SCHEMA = "identity"


def upgrade() -> None:
    op.create_table(
        "revocations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("subject", UUID(as_uuid=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revocations"),
        sa.CheckConstraint("kind IN ('user', 'session', 'api_key')", name="ck_revocations_kind"),
        schema=SCHEMA,
    )
    op.create_index("ix_revocations_not_before", "revocations", ["not_before"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_revocations_not_before", table_name="revocations", schema=SCHEMA)
    op.drop_table("revocations", schema=SCHEMA)
