"""Login protection: failed sign-ins per (account, source address), shared by every replica.

Revision ID: identity_0004
Revises: identity_0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0004"
down_revision = "identity_0003"
branch_labels = None
depends_on = None

SCHEMA = "identity"


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("account_key", sa.String(64), nullable=False),
        sa.Column("source_address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "source_address", name="pk_sign_in_failures"),
        schema=SCHEMA,
    )
    op.create_index("ix_sign_in_failures_expires_at", "sign_in_failures", ["expires_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_expires_at", table_name="sign_in_failures", schema=SCHEMA)
    op.drop_table("sign_in_failures", schema=SCHEMA)
