"""clients schema: indexes for a book of a million (issue 21, item 5).

Duplicate search reads a bounded window of the caller's clients in id order, per scope (owner agent,
team; an admin's is the primary key), and finds similar names by the blocking keys
``(birth_date, first letter of name_key)`` and ``(birth_date, last letter)`` instead of every client
born the same day (61 a day at a million clients).

Revision ID: clients_0008
Revises: clients_0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0008"
down_revision = "clients_0007"
branch_labels = None
depends_on = None

SCHEMA = "clients"
LIVE = sa.text("deleted_at IS NULL")
BORN = sa.text("deleted_at IS NULL AND birth_date IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_clients_owner_id", "clients", ["owner_agent_id", "id"], schema=SCHEMA, postgresql_where=LIVE
    )
    op.create_index("ix_clients_team_id", "clients", ["team_id", "id"], schema=SCHEMA, postgresql_where=LIVE)
    op.create_index(
        "ix_clients_birth_date_name_first",
        "clients",
        ["birth_date", sa.text("left(name_key, 1)")],
        schema=SCHEMA,
        postgresql_where=BORN,
    )
    op.create_index(
        "ix_clients_birth_date_name_last",
        "clients",
        ["birth_date", sa.text("right(name_key, 1)")],
        schema=SCHEMA,
        postgresql_where=BORN,
    )
    op.drop_index("ix_clients_birth_date_name_key", table_name="clients", schema=SCHEMA)


def downgrade() -> None:
    op.create_index(
        "ix_clients_birth_date_name_key",
        "clients",
        ["birth_date", "name_key"],
        schema=SCHEMA,
        postgresql_where=BORN,
    )
    op.drop_index("ix_clients_birth_date_name_last", table_name="clients", schema=SCHEMA)
    op.drop_index("ix_clients_birth_date_name_first", table_name="clients", schema=SCHEMA)
    op.drop_index("ix_clients_team_id", table_name="clients", schema=SCHEMA)
    op.drop_index("ix_clients_owner_id", table_name="clients", schema=SCHEMA)
