"""identity schema: audit log as outbox, webhook subscriptions, deliveries and feed cursors.

Revision ID: identity_0003
Revises: identity_0002
Create Date: 2026-11-30
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "identity_0003"
down_revision = "identity_0002"
branch_labels = None
depends_on = None

SCHEMA = "identity"


def _ts(name: str, *, nullable: bool = False, default: bool = False) -> sa.Column[datetime]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default else None,
    )


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute(f"CREATE INDEX ix_audit_log_txid_id ON {SCHEMA}.audit_log (txid, id)")
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(80)), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("secret_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
        sa.CheckConstraint("cardinality(event_types) > 0", name="ck_webhook_subscriptions_some_types"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_subscriptions_recent",
        "webhook_subscriptions",
        [sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(80), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at", nullable=True),
        _ts("last_attempt_at", nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        _ts("delivered_at", nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            [f"{SCHEMA}.webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_known_status"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_recent",
        "webhook_deliveries",
        ["subscription_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    op.create_table(
        "event_feed_cursors",
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("cursor", sa.String(200), nullable=True),
        _ts("updated_at", default=True),
        sa.PrimaryKeyConstraint("service", name="pk_event_feed_cursors"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("event_feed_cursors", schema=SCHEMA)
    op.drop_table("webhook_deliveries", schema=SCHEMA)
    op.drop_table("webhook_subscriptions", schema=SCHEMA)
    op.execute(f"DROP INDEX {SCHEMA}.ix_audit_log_txid_id")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log DROP COLUMN txid")
