"""clients schema: greetings, event invitations and other outbound messages sent to a client, each
under the client's active marketing consent (issue 17, item 4).

Revision ID: clients_0007
Revises: clients_0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0007"
down_revision = "clients_0006"
branch_labels = None
depends_on = None

SCHEMA = "clients"


def upgrade() -> None:
    op.create_table(
        "greetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("occasion", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_greetings"),
        sa.CheckConstraint(
            "occasion IN ('birthday', 'milestone', 'festival', 'event_invitation', 'other')",
            name="ck_greetings_occasion_known",
        ),
        sa.CheckConstraint(
            "channel IN ('wechat', 'sms', 'email', 'phone', 'card')", name="ck_greetings_channel_known"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_greetings_client_recent",
        "greetings",
        ["client_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("greetings", schema=SCHEMA)
