"""tasks schema: its tables signal their committed changes (issue 22, the agenda's cache).

Each table below gets the row trigger of ``crmkit.change_signals``: a committed write runs
``pg_notify('crm_changes', 'tasks')``, and the gateway drops the tasks part of every agenda it
keeps (gateway/views/agenda_cache.py).
Not its outbound messaging (notifications, deliveries) nor its event consumers' positions
(event_cursors): the agenda shows none of them, and the worker writes them all day.

Revision ID: tasks_0002
Revises: tasks_0001
Create Date: 2026-12-02
"""

from alembic import op

from crmkit import change_signals

revision = "tasks_0002"
down_revision = "tasks_0001"
branch_labels = None
depends_on = None

SCHEMA = "tasks"
TABLES = (
    "action_plans",
    "agenda_marks",
    "message_templates",
    "plan_templates",
    "preferences",
    "tasks",
)


def upgrade() -> None:
    change_signals.install(op.get_bind(), SCHEMA, TABLES)


def downgrade() -> None:
    change_signals.uninstall(op.get_bind(), SCHEMA, TABLES)
