"""clients schema: family members and milestones carry their client's owner and team (issue 21).

An agent's and a team lead's upcoming family birthdays and events joined every member (event) of
the window in the whole book to ``clients`` to keep their own: at 300,000 members the team lead's
birthdays took 134 ms and grew with the book. With ``owner_agent_id`` and ``team_id`` on the rows
themselves (filled from the client here, copied on every write after: services/clients/owners.py),
each scope reads its own index range in (day, id) order and stops after a page. The owner is also
the rows' distribution key for Citus (docs/scaling.md).

Revision ID: clients_0010
Revises: clients_0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0010"
down_revision = "clients_0009"
branch_labels = None
depends_on = None

SCHEMA = "clients"
YEARLY = sa.text("recurs_yearly")
TABLES = ("family_members", "milestones")
# (name, table, columns, partial): one index per scope and upcoming source.
INDEXES: tuple[tuple[str, str, list[str], sa.TextClause | None], ...] = (
    ("ix_family_members_owner_birth_md", "family_members", ["owner_agent_id", "birth_md", "id"], None),
    ("ix_family_members_team_birth_md", "family_members", ["team_id", "birth_md", "id"], None),
    ("ix_milestones_owner_occurs_on", "milestones", ["owner_agent_id", "occurs_on", "kind", "id"], None),
    ("ix_milestones_team_occurs_on", "milestones", ["team_id", "occurs_on", "kind", "id"], None),
    ("ix_milestones_owner_yearly_md", "milestones", ["owner_agent_id", "occurs_md", "kind", "id"], YEARLY),
    ("ix_milestones_team_yearly_md", "milestones", ["team_id", "occurs_md", "kind", "id"], YEARLY),
)


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("owner_agent_id", sa.Uuid(), nullable=True), schema=SCHEMA)
        op.add_column(table, sa.Column("team_id", sa.Uuid(), nullable=True), schema=SCHEMA)
        op.execute(
            f"UPDATE {SCHEMA}.{table} AS row SET owner_agent_id = c.owner_agent_id, team_id = c.team_id"  # noqa: S608
            f" FROM {SCHEMA}.clients AS c WHERE c.id = row.client_id"
        )
        # clients.owner_agent_id is NOT NULL (team_id is not): so is the copy. A row whose client
        # is gone (no foreign key) would stop this; there are none, a client is only soft-deleted.
        op.alter_column(table, "owner_agent_id", nullable=False, schema=SCHEMA)
    for name, table, columns, where in INDEXES:
        op.create_index(name, table, columns, schema=SCHEMA, postgresql_where=where)


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table, schema=SCHEMA)
    for table in reversed(TABLES):
        op.drop_column(table, "team_id", schema=SCHEMA)
        op.drop_column(table, "owner_agent_id", schema=SCHEMA)
