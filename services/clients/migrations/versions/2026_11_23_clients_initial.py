"""clients schema: audit log, idempotency keys and the client record.

Revision ID: clients_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crmkit.infra_tables import create_infra_tables, drop_infra_tables

revision = "clients_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "clients"
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    create_infra_tables(op.get_bind(), SCHEMA)
    op.create_table(
        "clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("gender", sa.String(20), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("resident_id_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("resident_id_hmac", sa.LargeBinary(), nullable=True),
        sa.Column("resident_id_masked", sa.String(32), nullable=True),
        sa.Column("phone_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hmac", sa.LargeBinary(), nullable=True),
        sa.Column("phone_masked", sa.String(32), nullable=True),
        sa.Column("occupation", sa.String(100), nullable=True),
        sa.Column("occupation_class", sa.SmallInteger(), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("referred_by_client_id", sa.Uuid(), nullable=True),
        sa.Column("notes", sa.String(4000), nullable=True),
        sa.Column("tier", sa.String(1), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_clients"),
        sa.CheckConstraint("gender IN ('male', 'female', 'undisclosed')", name="ck_clients_gender_known"),
        sa.CheckConstraint(
            "channel IN ('warm_market', 'referral', 'cold', 'online')", name="ck_clients_channel_known"
        ),
        sa.CheckConstraint("tier IN ('A', 'B', 'C')", name="ck_clients_tier_known"),
        sa.CheckConstraint("occupation_class BETWEEN 1 AND 6", name="ck_clients_occupation_class_range"),
        sa.CheckConstraint(
            "(channel = 'referral') = (referred_by_client_id IS NOT NULL)",
            name="ck_clients_referral_has_referrer",
        ),
        schema=SCHEMA,
    )
    # Keyset pages (newest first) per scope: agent → owner, team lead → team, admin → all.
    op.create_index(
        "ix_clients_owner_recent",
        "clients",
        ["owner_agent_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_clients_team_recent",
        "clients",
        ["team_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_clients_recent",
        "clients",
        [sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    # Case-insensitive name prefix as a byte-order range, usable whatever the database collation.
    op.create_index(
        "ix_clients_name_prefix",
        "clients",
        [sa.text('lower(name) COLLATE "C"')],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    op.create_index("ix_clients_phone_hmac", "clients", ["phone_hmac"], schema=SCHEMA, postgresql_where=LIVE)
    op.create_index(
        "ix_clients_resident_id_hmac", "clients", ["resident_id_hmac"], schema=SCHEMA, postgresql_where=LIVE
    )


def downgrade() -> None:
    op.drop_table("clients", schema=SCHEMA)
    drop_infra_tables(op.get_bind(), SCHEMA)
