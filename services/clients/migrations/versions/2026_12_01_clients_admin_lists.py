"""clients schema: indexes for an admin's lists over the whole book (issue 21, item 5).

At a million clients three calls read every client: a client's referrals (no index on the
referrer), and the upcoming birthdays of the agenda and of ``milestones/upcoming`` (every client
born in the window, ~20,000 for a week, sorted in Python). Birthdays are now read a page at a time
in (month-day, id) order per scope — the whole book for an admin, an agent's or a team's book —,
family events in (day, kind, id) order, follow-ups due in the list's own order for an admin, and a
client's referrals oldest first.

Revision ID: clients_0009
Revises: clients_0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0009"
down_revision = "clients_0008"
branch_labels = None
depends_on = None

SCHEMA = "clients"
LIVE = sa.text("deleted_at IS NULL")
YEARLY = sa.text("recurs_yearly")


def _replace(name: str, table: str, columns: list[str], where: sa.TextClause | None = None) -> None:
    op.drop_index(name, table_name=table, schema=SCHEMA)
    op.create_index(name, table, columns, schema=SCHEMA, postgresql_where=where)


def upgrade() -> None:
    op.create_index(
        "ix_clients_referrals",
        "clients",
        ["referred_by_client_id", "created_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL AND referred_by_client_id IS NOT NULL"),
    )
    op.create_index(
        "ix_clients_follow_up",
        "clients",
        ["next_follow_up_on", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL AND next_follow_up_on IS NOT NULL"),
    )
    op.create_index(
        "ix_clients_birth_md", "clients", ["birth_md", "id"], schema=SCHEMA, postgresql_where=LIVE
    )
    _replace("ix_clients_owner_birth_md", "clients", ["owner_agent_id", "birth_md", "id"], LIVE)
    _replace("ix_clients_team_birth_md", "clients", ["team_id", "birth_md", "id"], LIVE)
    _replace("ix_family_members_birth_md", "family_members", ["birth_md", "id"])
    _replace("ix_milestones_occurs_on", "milestones", ["occurs_on", "kind", "id"])
    _replace("ix_milestones_yearly_md", "milestones", ["occurs_md", "kind", "id"], YEARLY)


def downgrade() -> None:
    _replace("ix_milestones_yearly_md", "milestones", ["occurs_md"], YEARLY)
    _replace("ix_milestones_occurs_on", "milestones", ["occurs_on"])
    _replace("ix_family_members_birth_md", "family_members", ["birth_md"])
    _replace("ix_clients_team_birth_md", "clients", ["team_id", "birth_md"], LIVE)
    _replace("ix_clients_owner_birth_md", "clients", ["owner_agent_id", "birth_md"], LIVE)
    op.drop_index("ix_clients_birth_md", table_name="clients", schema=SCHEMA)
    op.drop_index("ix_clients_follow_up", table_name="clients", schema=SCHEMA)
    op.drop_index("ix_clients_referrals", table_name="clients", schema=SCHEMA)
