"""Tables of the devices service, all in the `devices` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from crmkit.db import one_of, schema_registry
from crmkit.infra_tables import define_infra_tables
from services.devices.categories import CATEGORIES

SCHEMA = "devices"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

DEVICE_TYPES = ("computer", "printer", "phone", "network_equipment", "other")
DEVICE_STATUSES = ("in_service", "out_of_service", "under_repair", "retired")
RESULTS = ("good", "abnormal")
REPAIR_STATUSES = ("open", "in_progress", "closed")
CATEGORY_CODES = tuple(c.code for c in CATEGORIES)

IN_SERVICE = text("status = 'in_service'")
NOT_RETIRED = text("status <> 'retired'")
ABNORMAL = text("result = 'abnormal'")
REPAIR_OPEN = text("status <> 'closed'")


class DevicesTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Device(DevicesTable, table=True):
    """A piece of office equipment; ``status`` only moves along ``transitions.DEVICE_TRANSITIONS``."""

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(one_of("device_type", DEVICE_TYPES), name="device_type_known"),
        CheckConstraint(one_of("status", DEVICE_STATUSES), name="status_known"),
        CheckConstraint("maintenance_interval_days > 0", name="maintenance_interval_positive"),
        # Agents see devices they hold or that sit at their location (a BitmapOr of the two).
        Index("ix_devices_holder_id", "holder_id"),
        Index("ix_devices_location", "location"),
        # Work lists: in-service devices not yet checked today; maintenance overdue.
        Index("ix_devices_last_checked_on", "last_checked_on", postgresql_where=IN_SERVICE),
        Index("ix_devices_maintenance_due_on", "maintenance_due_on", postgresql_where=NOT_RETIRED),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    device_type: str = Field(sa_column=Column(String(30), nullable=False))
    asset_tag: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    model: str = Field(sa_column=Column(String(100), nullable=False))
    holder_id: uuid.UUID | None = Field(default=None, nullable=True)
    location: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    maintenance_interval_days: int = Field(sa_column=Column(Integer, nullable=False))
    last_maintained_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    maintenance_due_on: date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    last_checked_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    open_repair_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DeviceCheck(DevicesTable, table=True):
    """One status check of a device: a finding per category; abnormal when any finding is."""

    __tablename__ = "device_checks"
    __table_args__ = (
        CheckConstraint(one_of("result", RESULTS), name="result_known"),
        Index("ix_device_checks_device_recent", "device_id", text("checked_at DESC"), text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    device_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("devices.devices.id"), nullable=False))
    checked_by: uuid.UUID = Field(nullable=False)
    checked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    checked_on: date = Field(sa_column=Column(Date, nullable=False))
    result: str = Field(sa_column=Column(String(10), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    repair_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))


class CheckFinding(DevicesTable, table=True):
    """The result in one category; ``device_id`` and ``checked_at`` are copied from the check so the
    abnormality statistics read one partial index."""

    __tablename__ = "check_findings"
    __table_args__ = (
        CheckConstraint(one_of("result", RESULTS), name="result_known"),
        CheckConstraint(one_of("category", CATEGORY_CODES), name="category_known"),
        Index("ix_check_findings_abnormal_at", "checked_at", postgresql_where=ABNORMAL),
    )

    check_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("devices.device_checks.id"), primary_key=True)
    )
    category: str = Field(sa_column=Column(String(40), primary_key=True))
    device_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    checked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    result: str = Field(sa_column=Column(String(10), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))


class Repair(DevicesTable, table=True):
    """A repair record, opened by an abnormal check: fault, categories, who and when; then started and
    closed with what was done."""

    __tablename__ = "repairs"
    __table_args__ = (
        CheckConstraint(one_of("status", REPAIR_STATUSES), name="status_known"),
        CheckConstraint(one_of("category", CATEGORY_CODES), name="category_known"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
        Index("ix_repairs_device_recent", "device_id", text("opened_at DESC"), text("id DESC")),
        # At most one repair under way per device.
        Index("ix_repairs_one_open_per_device", "device_id", unique=True, postgresql_where=REPAIR_OPEN),
        Index("ix_repairs_recent", text("opened_at DESC"), text("id DESC")),
        Index("ix_repairs_closed_at", "closed_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    device_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("devices.devices.id"), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    category: str = Field(sa_column=Column(String(40), nullable=False))
    categories: list[str] = Field(sa_column=Column(ARRAY(String(40)), nullable=False))
    fault: str = Field(sa_column=Column(String(4000), nullable=False))
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    opened_by: uuid.UUID = Field(nullable=False)
    opened_by_check_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    started_by: uuid.UUID | None = Field(default=None, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    closed_by: uuid.UUID | None = Field(default=None, nullable=True)
    resolution: str | None = Field(default=None, sa_column=Column(String(4000), nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
