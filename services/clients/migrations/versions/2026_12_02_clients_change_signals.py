"""clients schema: its tables signal their committed changes (issue 22, the agenda's cache).

Each table below gets the row trigger of ``crmkit.change_signals``: a committed write runs
``pg_notify('crm_changes', 'clients')``, and the gateway drops the clients part of every agenda it
keeps (gateway/views/agenda_cache.py).

Revision ID: clients_0011
Revises: clients_0010
Create Date: 2026-12-02
"""

from alembic import op

from crmkit import change_signals

revision = "clients_0011"
down_revision = "clients_0010"
branch_labels = None
depends_on = None

SCHEMA = "clients"
TABLES = (
    "client_events",
    "event_acquisitions",
    "event_invitations",
    "clients",
    "complaints",
    "consents",
    "family_members",
    "greetings",
    "household_incomes",
    "households",
    "import_jobs",
    "import_row_errors",
    "interactions",
    "milestones",
    "needs_assessments",
    "tier_assessments",
    "tier_changes",
)


def upgrade() -> None:
    change_signals.install(op.get_bind(), SCHEMA, TABLES)


def downgrade() -> None:
    change_signals.uninstall(op.get_bind(), SCHEMA, TABLES)
