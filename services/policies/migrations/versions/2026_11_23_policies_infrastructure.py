"""policies schema: audit log and idempotency keys.

Revision ID: policies_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

from crmkit.infra_tables import create_infra_tables, drop_infra_tables

revision = "policies_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_infra_tables(op.get_bind(), "policies")


def downgrade() -> None:
    drop_infra_tables(op.get_bind(), "policies")
