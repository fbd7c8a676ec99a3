"""documents schema: audit log (the event outbox) and idempotency keys, documents, feed cursors.

Revision ID: documents_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from crmkit.infra_tables import create_infra_tables, drop_infra_tables

revision = "documents_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "documents"
RECORD_TYPES = "'client', 'complaint', 'application_requirement', 'policy', 'claim_document'"
KINDS = (
    "'id_copy', 'diagnosis_certificate', 'medical_records', 'exam_report', 'signed_application', "
    "'contract', 'receipt', 'communication_record', 'other'"
)
CONTENT_TYPES = (
    "'application/pdf', 'image/jpeg', 'image/png', 'image/webp', 'image/heic', "
    "'application/vnd.openxmlformats-officedocument.wordprocessingml.document', "
    "'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'"
)


def upgrade() -> None:
    create_infra_tables(op.get_bind(), SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute(f"CREATE INDEX ix_audit_log_txid_id ON {SCHEMA}.audit_log (txid, id)")

    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(30), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("owner_agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("filename_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("object_key", sa.String(40), nullable=False),
        sa.Column("sealed_size", sa.BigInteger(), nullable=False),
        sa.Column("data_key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("thumbnail_sealed_size", sa.Integer(), nullable=True),
        sa.Column("thumbnail_sha256", sa.LargeBinary(), nullable=True),
        sa.Column("gps_removed", sa.Boolean(), nullable=False),
        sa.Column("storage_backend", sa.String(10), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purge_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("object_key", name="uq_documents_object_key"),
        sa.CheckConstraint(f"record_type IN ({RECORD_TYPES})", name="ck_documents_record_type_known"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_documents_kind_known"),
        sa.CheckConstraint(f"content_type IN ({CONTENT_TYPES})", name="ck_documents_content_type_allowed"),
        sa.CheckConstraint("size_bytes > 0", name="ck_documents_size_positive"),
        schema=SCHEMA,
    )
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "ix_documents_record",
        "documents",
        ["record_type", "record_id", "created_at", "id"],
        schema=SCHEMA,
        postgresql_where=live,
    )
    op.create_index("ix_documents_client_id", "documents", ["client_id"], schema=SCHEMA)
    op.create_index(
        "ix_documents_owner_agent_id", "documents", ["owner_agent_id"], schema=SCHEMA, postgresql_where=live
    )
    op.create_index("ix_documents_team_id", "documents", ["team_id"], schema=SCHEMA, postgresql_where=live)
    op.create_index(
        "ix_documents_purge_after",
        "documents",
        ["purge_after"],
        schema=SCHEMA,
        postgresql_where=sa.text("purged_at IS NULL AND purge_after IS NOT NULL"),
    )

    op.create_table(
        "feed_cursors",
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("position", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_feed_cursors"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("feed_cursors", schema=SCHEMA)
    op.drop_table("documents", schema=SCHEMA)
    drop_infra_tables(op.get_bind(), SCHEMA)
