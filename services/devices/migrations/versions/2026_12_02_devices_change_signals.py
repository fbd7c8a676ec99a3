"""devices schema: its tables signal their committed changes (issue 22, the agenda's cache).

Each table below gets the row trigger of ``crmkit.change_signals``: a committed write runs
``pg_notify('crm_changes', 'devices')``, and the gateway drops the devices part of every agenda it
keeps (gateway/views/agenda_cache.py).

Revision ID: devices_0004
Revises: devices_0003
Create Date: 2026-12-02
"""

from alembic import op

from crmkit import change_signals

revision = "devices_0004"
down_revision = "devices_0003"
branch_labels = None
depends_on = None

SCHEMA = "devices"
TABLES = (
    "check_findings",
    "device_checks",
    "devices",
    "repairs",
)


def upgrade() -> None:
    change_signals.install(op.get_bind(), SCHEMA, TABLES)


def downgrade() -> None:
    change_signals.uninstall(op.get_bind(), SCHEMA, TABLES)
