"""claims schema: its tables signal their committed changes (issue 22, the agenda's cache).

Each table below gets the row trigger of ``crmkit.change_signals``: a committed write runs
``pg_notify('crm_changes', 'claims')``, and the gateway drops the claims part of every agenda it
keeps (gateway/views/agenda_cache.py).

Revision ID: claims_0007
Revises: claims_0006
Create Date: 2026-12-02
"""

from alembic import op

from crmkit import change_signals

revision = "claims_0007"
down_revision = "claims_0006"
branch_labels = None
depends_on = None

SCHEMA = "claims"
TABLES = (
    "claim_documents",
    "claim_events",
    "claims",
)


def upgrade() -> None:
    change_signals.install(op.get_bind(), SCHEMA, TABLES)


def downgrade() -> None:
    change_signals.uninstall(op.get_bind(), SCHEMA, TABLES)
