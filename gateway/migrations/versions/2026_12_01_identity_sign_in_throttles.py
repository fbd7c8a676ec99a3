"""Sign-in throttles per subject (address, account, device) replace the per-pair lockout.

The rows are short-lived counters (15 minutes), so the old table is dropped, not converted.

Revision ID: identity_0005
Revises: identity_0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0005"
down_revision = "identity_0004"
branch_labels = None
depends_on = None

SCHEMA = "identity"


def upgrade() -> None:
    op.drop_index("ix_sign_in_failures_expires_at", table_name="sign_in_failures", schema=SCHEMA)
    op.drop_table("sign_in_failures", schema=SCHEMA)
    op.create_table(
        "sign_in_throttles",
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wait_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject", name="pk_sign_in_throttles"),
        schema=SCHEMA,
    )
    op.create_index("ix_sign_in_throttles_expires_at", "sign_in_throttles", ["expires_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_sign_in_throttles_expires_at", table_name="sign_in_throttles", schema=SCHEMA)
    op.drop_table("sign_in_throttles", schema=SCHEMA)
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
