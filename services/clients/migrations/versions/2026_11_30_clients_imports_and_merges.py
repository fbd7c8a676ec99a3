"""clients schema: duplicate detection and merges, and CSV import jobs.

- ``clients.name_key`` (the name as duplicates compare it) with an index on (birth date, key);
- ``clients.merged_into_id``: where a merged-away client went;
- ``import_jobs`` and ``import_row_errors``: a real import's progress and its error report.

Revision ID: clients_0004
Revises: clients_0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0004"
down_revision = "clients_0003"
branch_labels = None
depends_on = None

SCHEMA = "clients"
NAME_KEY_SQL = "lower(regexp_replace(normalize(name, NFKC), '\\s+', '', 'g'))"


def upgrade() -> None:
    op.add_column(
        "clients",
        sa.Column("name_key", sa.String(100), sa.Computed(NAME_KEY_SQL, persisted=True)),
        schema=SCHEMA,
    )
    op.add_column("clients", sa.Column("merged_into_id", sa.Uuid(), nullable=True), schema=SCHEMA)
    op.create_index(
        "ix_clients_birth_date_name_key",
        "clients",
        ["birth_date", "name_key"],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL AND birth_date IS NOT NULL"),
    )
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("consent_text_version", sa.String(50), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.Column("rows_created", sa.Integer(), nullable=False),
        sa.Column("failure", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_import_jobs"),
        sa.CheckConstraint("state IN ('running', 'succeeded', 'failed')", name="ck_import_jobs_state_known"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_import_jobs_running",
        "import_jobs",
        ["heartbeat_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "import_row_errors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(50), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_row_errors"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_import_row_errors_job_row", "import_row_errors", ["job_id", "row_number", "id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_import_row_errors_job_row", table_name="import_row_errors", schema=SCHEMA)
    op.drop_table("import_row_errors", schema=SCHEMA)
    op.drop_index("ix_import_jobs_running", table_name="import_jobs", schema=SCHEMA)
    op.drop_table("import_jobs", schema=SCHEMA)
    op.drop_index("ix_clients_birth_date_name_key", table_name="clients", schema=SCHEMA)
    op.drop_column("clients", "merged_into_id", schema=SCHEMA)
    op.drop_column("clients", "name_key", schema=SCHEMA)
