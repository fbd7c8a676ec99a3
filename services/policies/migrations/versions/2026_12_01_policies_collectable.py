"""policies schema: the collection list no longer reads the arrears of lapsed or ended policies.

A lapsed, terminated or expired policy keeps its overdue instalments ``due`` (a reinstatement
collects them as arrears); they came first in due order, and every call of the collection list read
past all of them. Each instalment now carries ``collectable`` (its policy can still lapse: status
issued, receipt_signed, return_visit_done or in_force), filled here from the policies and kept by
every status change since; three partial indexes (owner, team, all) hold the collectable due
instalments in ``(due_on, id)`` order. The indexes on every due instalment stay: the premiums-due
list reads those.

Revision ID: policies_0008
Revises: policies_0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "policies_0008"
down_revision = "policies_0007"
branch_labels = None
depends_on = None

SCHEMA = "policies"
COLLECTABLE_DUE = sa.text("status = 'due' AND collectable")
INDEXES = (
    ("ix_premium_dues_owner_collect", ["owner_agent_id", "due_on", "id"]),
    ("ix_premium_dues_team_collect", ["team_id", "due_on", "id"]),
    ("ix_premium_dues_collect", ["due_on", "id"]),
)


def upgrade() -> None:
    op.add_column(
        "premium_dues",
        sa.Column("collectable", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        schema=SCHEMA,
    )
    op.execute(
        "UPDATE policies.premium_dues d SET collectable = false FROM policies.policies p WHERE p.id ="
        " d.policy_id AND p.status NOT IN ('issued', 'receipt_signed', 'return_visit_done', 'in_force')"
    )
    for name, columns in INDEXES:
        op.create_index(name, "premium_dues", columns, postgresql_where=COLLECTABLE_DUE, schema=SCHEMA)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="premium_dues", schema=SCHEMA)
    op.drop_column("premium_dues", "collectable", schema=SCHEMA)
