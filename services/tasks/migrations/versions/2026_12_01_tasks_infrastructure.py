"""tasks schema: tasks, agenda marks, action plans and their templates, notifications with their
outbox (deliveries), preferences, message templates, event cursors; the audit log (the event
outbox, read in commit order) and idempotency keys.

Revision ID: tasks_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crmkit.infra_tables import create_infra_tables, drop_infra_tables

revision = "tasks_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "tasks"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    bind = op.get_bind()
    create_infra_tables(bind, SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute(f"CREATE INDEX ix_audit_log_txid_id ON {SCHEMA}.audit_log (txid, id)")

    op.create_table(
        "action_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_key", sa.String(50), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_action_plans"),
        sa.UniqueConstraint("event_id", name="uq_action_plans_event_id"),
        sa.CheckConstraint(
            "status IN ('in_progress', 'completed', 'cancelled')", name="ck_action_plans_status_known"
        ),
        sa.CheckConstraint(
            "subject_type IN ('client', 'application', 'policy', 'claim')",
            name="ck_action_plans_subject_type_known",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_action_plans_subject", "action_plans", ["subject_type", "subject_id"], schema=SCHEMA)
    op.create_index("ix_action_plans_owner", "action_plans", ["owner_agent_id", "started_on"], schema=SCHEMA)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("notes", sa.String(2000), nullable=True),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("due_by", TS, nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("link_type", sa.String(20), nullable=True),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("plan_step", sa.Integer(), nullable=True),
        sa.Column("repeat_every_days", sa.Integer(), nullable=True),
        sa.Column("reminded_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.ForeignKeyConstraint(["plan_id"], ["tasks.action_plans.id"], name="fk_tasks_plan_id_action_plans"),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="ck_tasks_priority_known"),
        sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name="ck_tasks_status_known"),
        sa.CheckConstraint(
            "link_type IS NULL OR link_type IN ('client', 'application', 'policy', 'claim')",
            name="ck_tasks_link_type_known",
        ),
        sa.CheckConstraint("(link_type IS NULL) = (link_id IS NULL)", name="ck_tasks_link_whole"),
        sa.CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="ck_tasks_closed_has_time"),
        sa.CheckConstraint(
            "repeat_every_days IS NULL OR repeat_every_days > 0", name="ck_tasks_repeat_positive"
        ),
        schema=SCHEMA,
    )
    is_open = sa.text("status = 'open'")
    op.create_index(
        "ix_tasks_owner_due", "tasks", ["owner_agent_id", "due_by"], schema=SCHEMA, postgresql_where=is_open
    )
    op.create_index(
        "ix_tasks_team_due", "tasks", ["team_id", "due_by"], schema=SCHEMA, postgresql_where=is_open
    )
    op.create_index(
        "ix_tasks_unreminded_due",
        "tasks",
        ["due_by"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'open' AND reminded_at IS NULL"),
    )
    op.create_index("ix_tasks_plan", "tasks", ["plan_id"], schema=SCHEMA)

    op.create_table(
        "agenda_marks",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("item_key", sa.String(300), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("marked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", "item_key", name="pk_agenda_marks"),
        sa.CheckConstraint("state IN ('done', 'snoozed')", name="ck_agenda_marks_state_known"),
        schema=SCHEMA,
    )

    # An administrator's version of a default plan (services/tasks/plans.py), or a plan of their own.
    op.create_table(
        "plan_templates",
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(100), nullable=False),
        sa.Column("steps", JSONB(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_plan_templates"),
        schema=SCHEMA,
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient_type", sa.String(10), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("template", sa.String(50), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.String(2000), nullable=False),
        sa.Column("link_path", sa.String(300), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
        sa.CheckConstraint(
            "recipient_type IN ('user', 'client')", name="ck_notifications_recipient_type_known"
        ),
        sa.CheckConstraint("purpose IN ('service', 'marketing')", name="ck_notifications_purpose_known"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_notifications_feed",
        "notifications",
        ["recipient_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("held_for_quiet_hours", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["tasks.notifications.id"],
            name="fk_deliveries_notification_id_notifications",
        ),
        sa.UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
        sa.CheckConstraint(
            "channel IN ('in_app', 'email', 'sms', 'wechat')", name="ck_deliveries_channel_known"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="ck_deliveries_status_known"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )

    op.create_table(
        "preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channels", JSONB(), nullable=False),
        sa.Column("quiet_from", sa.String(5), nullable=True),
        sa.Column("quiet_until", sa.String(5), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_preferences"),
        schema=SCHEMA,
    )
    op.create_table(
        "message_templates",
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.String(2000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_message_templates"),
        schema=SCHEMA,
    )
    op.create_table(
        "event_cursors",
        sa.Column("service", sa.String(30), nullable=False),
        sa.Column("cursor", sa.String(200), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("service", name="pk_event_cursors"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "event_cursors",
        "message_templates",
        "preferences",
        "deliveries",
        "notifications",
        "plan_templates",
        "agenda_marks",
        "tasks",
        "action_plans",
    ):
        op.drop_table(table, schema=SCHEMA)
    drop_infra_tables(op.get_bind(), SCHEMA)
