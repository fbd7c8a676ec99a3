"""devices schema: devices, status checks with their findings, repairs.

Revision ID: devices_0002
Revises: devices_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "devices_0002"
down_revision = "devices_0001"
branch_labels = None
depends_on = None

SCHEMA = "devices"

# The procedure's §四 categories (services/devices/categories.py), frozen here as of this revision.
CATEGORY_CODES = (
    "'noise_vibration', 'display', 'input_output', 'system_software', 'network', 'power_supply', "
    "'temperature', 'maintenance'"
)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_type", sa.String(30), nullable=False),
        sa.Column("asset_tag", sa.String(64), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("maintenance_interval_days", sa.Integer(), nullable=False),
        sa.Column("last_maintained_on", sa.Date(), nullable=True),
        sa.Column("maintenance_due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_checked_on", sa.Date(), nullable=True),
        sa.Column("open_repair_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("asset_tag", name="uq_devices_asset_tag"),
        sa.CheckConstraint(
            "device_type IN ('computer', 'printer', 'phone', 'network_equipment', 'other')",
            name="ck_devices_device_type_known",
        ),
        sa.CheckConstraint(
            "status IN ('in_service', 'out_of_service', 'under_repair', 'retired')",
            name="ck_devices_status_known",
        ),
        sa.CheckConstraint("maintenance_interval_days > 0", name="ck_devices_maintenance_interval_positive"),
        schema=SCHEMA,
    )
    op.create_index("ix_devices_holder_id", "devices", ["holder_id"], schema=SCHEMA)
    op.create_index("ix_devices_location", "devices", ["location"], schema=SCHEMA)
    op.create_index(
        "ix_devices_last_checked_on",
        "devices",
        ["last_checked_on"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'in_service'"),
    )
    op.create_index(
        "ix_devices_maintenance_due_on",
        "devices",
        ["maintenance_due_on"],
        schema=SCHEMA,
        postgresql_where=sa.text("status <> 'retired'"),
    )

    op.create_table(
        "device_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("checked_by", sa.Uuid(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("result", sa.String(10), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("repair_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_device_checks"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.devices.id"], name="fk_device_checks_device_id_devices"
        ),
        sa.CheckConstraint("result IN ('good', 'abnormal')", name="ck_device_checks_result_known"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_device_checks_device_recent",
        "device_checks",
        ["device_id", sa.text("checked_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )

    op.create_table(
        "check_findings",
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(10), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("check_id", "category", name="pk_check_findings"),
        sa.ForeignKeyConstraint(
            ["check_id"], ["devices.device_checks.id"], name="fk_check_findings_check_id_device_checks"
        ),
        sa.CheckConstraint("result IN ('good', 'abnormal')", name="ck_check_findings_result_known"),
        sa.CheckConstraint(f"category IN ({CATEGORY_CODES})", name="ck_check_findings_category_known"),
        schema=SCHEMA,
    )
    # Abnormality statistics: abnormal findings in a time range.
    op.create_index(
        "ix_check_findings_abnormal_at",
        "check_findings",
        ["checked_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("result = 'abnormal'"),
    )

    op.create_table(
        "repairs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("categories", sa.ARRAY(sa.String(40)), nullable=False),
        sa.Column("fault", sa.String(4000), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("opened_by_check_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.String(4000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repairs"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.devices.id"], name="fk_repairs_device_id_devices"),
        sa.CheckConstraint("status IN ('open', 'in_progress', 'closed')", name="ck_repairs_status_known"),
        sa.CheckConstraint(f"category IN ({CATEGORY_CODES})", name="ck_repairs_category_known"),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)", name="ck_repairs_closed_has_time"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_repairs_device_recent",
        "repairs",
        ["device_id", sa.text("opened_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_repairs_one_open_per_device",
        "repairs",
        ["device_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_index(
        "ix_repairs_recent", "repairs", [sa.text("opened_at DESC"), sa.text("id DESC")], schema=SCHEMA
    )
    op.create_index("ix_repairs_closed_at", "repairs", ["closed_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("repairs", schema=SCHEMA)
    op.drop_table("check_findings", schema=SCHEMA)
    op.drop_table("device_checks", schema=SCHEMA)
    op.drop_table("devices", schema=SCHEMA)
