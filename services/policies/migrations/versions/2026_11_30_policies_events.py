"""policies schema: the audit log doubles as the event outbox, read in commit order.

Each row records the id of the transaction that wrote it; the events and changes feeds read
rows below the oldest still-running transaction, ordered by (txid, id) (crmkit/events.py).

Revision ID: policies_0003
Revises: policies_0002
Create Date: 2026-11-30
"""

from alembic import op

revision = "policies_0003"
down_revision = "policies_0002"
branch_labels = None
depends_on = None

SCHEMA = "policies"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute(f"CREATE INDEX ix_audit_log_txid_id ON {SCHEMA}.audit_log (txid, id)")


def downgrade() -> None:
    op.execute(f"DROP INDEX {SCHEMA}.ix_audit_log_txid_id")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log DROP COLUMN txid")
