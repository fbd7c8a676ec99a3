"""clients schema: an agent's list filtered by channel or tier reads only the rows it shows (issue 22).

An agent's book filtered by how clients came (获客渠道: referral, warm market, cold, online) or by
their tier (客户分级 A-D), newest first, is the list agents work from (../shared/seeds). Each value
is about a quarter of a book, so the owner's index (``ix_clients_owner_recent``) visited ~4 rows for
every row shown, each on a heap page of its own: 225 rows for a page of 50 (1.1-1.2 ms of
PostgreSQL's time, measured with EXPLAIN ANALYZE on the bench's 103,000 clients). With the filter's
column in the index, a page visits its 51 rows (0.05-0.15 ms). Team leads' lists keep the team's
index: two indexes more on every write to the table was the cost weighed against them.

Revision ID: clients_0012
Revises: clients_0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0012"
down_revision = "clients_0011"
branch_labels = None
depends_on = None

SCHEMA = "clients"
LIVE = sa.text("deleted_at IS NULL")
NEWEST_FIRST = [sa.text("created_at DESC"), sa.text("id DESC")]


def upgrade() -> None:
    for name, column in (
        ("ix_clients_owner_channel_recent", "channel"),
        ("ix_clients_owner_tier_recent", "tier"),
    ):
        op.create_index(
            name, "clients", ["owner_agent_id", column, *NEWEST_FIRST], schema=SCHEMA, postgresql_where=LIVE
        )


def downgrade() -> None:
    op.drop_index("ix_clients_owner_tier_recent", table_name="clients", schema=SCHEMA)
    op.drop_index("ix_clients_owner_channel_recent", table_name="clients", schema=SCHEMA)
