"""Request and response shapes of devices, checks, repairs and statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
)

from crmkit.clock import AwareMoment, IsoDate
from crmkit.pagination import Page
from services.devices.transitions import DeviceStatus, RepairStatus


class DeviceType(StrEnum):
    COMPUTER = "computer"
    PRINTER = "printer"
    PHONE = "phone"
    NETWORK_EQUIPMENT = "network_equipment"
    OTHER = "other"


class Result(StrEnum):
    """良好状态 / 异常状态."""

    GOOD = "good"
    ABNORMAL = "abnormal"


class Bucket(StrEnum):
    WEEK = "week"
    MONTH = "month"


AssetTag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
    ),
]
DeviceModel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Location = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
IntervalDays = Annotated[
    StrictInt, Field(ge=1, le=3650, description="Days between maintenances: a whole number, 1 to 3650.")
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class DeviceCreate(BaseModel):
    """What ops or an admin sets on a new device; status, dates due and version are server-owned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "device_type": "computer",
                    "asset_tag": "PD-PC-0001",
                    "model": "ThinkPad T14",
                    "location": "浦东办公室",
                    "maintenance_interval_days": 90,
                }
            ]
        },
    )

    device_type: DeviceType
    asset_tag: AssetTag = Field(description="Unique; letters, digits, `.`, `_`, `/`, `-`; kept upper-case.")
    model: DeviceModel
    holder_id: uuid.UUID | None = Field(default=None, description="The user who holds the device.")
    location: Location | None = Field(default=None, description="The office where it sits, e.g. 浦东办公室.")
    maintenance_interval_days: IntervalDays
    last_maintained_on: IsoDate | None = Field(default=None, description="Not in the future.")


_NOT_NULLABLE = ("device_type", "asset_tag", "model", "maintenance_interval_days")


class DeviceUpdate(BaseModel):
    """A partial change: fields left out are kept, an explicit null clears a nullable field."""

    model_config = ConfigDict(extra="forbid")

    device_type: DeviceType | None = None
    asset_tag: AssetTag | None = None
    model: DeviceModel | None = None
    holder_id: uuid.UUID | None = None
    location: Location | None = None
    maintenance_interval_days: IntervalDays | None = None
    last_maintained_on: IsoDate | None = Field(default=None, description="Record a maintenance.")

    @field_validator(*_NOT_NULLABLE)
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class OpenRepair(BaseModel):
    """The device's open repair, with what closing or starting it needs (no extra read)."""

    id: uuid.UUID
    status: RepairStatus
    version: int
    etag: str = Field(description="Send as If-Match to start or close this repair.")
    href: str = Field(description="The repair's path.")


class DeviceRead(BaseModel):
    id: uuid.UUID
    device_type: DeviceType
    asset_tag: str
    model: str
    holder_id: uuid.UUID | None
    location: str | None
    maintenance_interval_days: int
    last_maintained_on: IsoDate | None
    maintenance_due_on: IsoDate = Field(description="Last maintained (or registered) + the interval.")
    maintenance_overdue: bool = Field(description="Due before today (business time zone).")
    status: DeviceStatus
    last_checked_on: IsoDate | None
    checked_today: bool
    open_repair_id: uuid.UUID | None
    open_repair: OpenRepair | None = Field(
        default=None, description="The open repair (id, status, ETag), or null when none is open."
    )
    version: int
    created_at: datetime
    updated_at: datetime


DevicePage = Page[DeviceRead]


class RetireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class CheckCategoryRead(BaseModel):
    """A category of the procedure §四 with its good (良好状态) and abnormal (异常状态) description."""

    code: str
    position: int
    name_en: str
    name_zh: str
    good_en: str
    good_zh: str
    abnormal_en: str
    abnormal_zh: str


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Annotated[str, StringConstraints(max_length=40)] = Field(
        description="A code from GET /api/v1/devices/check-categories."
    )
    result: Result
    note: Note | None = None


class CheckCreate(BaseModel):
    """One finding for every category of the procedure, each exactly once."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "findings": [
                        {"category": "noise_vibration", "result": "good"},
                        {"category": "display", "result": "abnormal", "note": "屏幕闪烁"},
                    ],
                    "note": "月度检查",
                }
            ]
        },
    )

    findings: Annotated[list[FindingIn], Field(max_length=50)]
    note: Note | None = None
    checked_at: AwareMoment | None = Field(
        default=None,
        description="When the check was done, for one entered later (e.g. from the paper log): "
        "not in the future, at most 7 days back. Default: now.",
    )


class FindingRead(BaseModel):
    category: str
    result: Result
    note: str | None


class CheckRead(BaseModel):
    id: uuid.UUID
    device_id: uuid.UUID
    checked_by: uuid.UUID
    checked_at: datetime
    checked_on: IsoDate = Field(description="The business day of the check (business time zone).")
    result: Result = Field(description="Abnormal when any finding is.")
    note: str | None
    repair_id: uuid.UUID | None = Field(description="The repair this check opened, if any.")
    findings: list[FindingRead]


CheckPage = Page[CheckRead]


class CheckRecorded(CheckRead):
    """The check, and the device as it stands after it."""

    device: DeviceRead


class RepairRead(BaseModel):
    id: uuid.UUID
    device_id: uuid.UUID
    status: RepairStatus
    category: str = Field(description="The first abnormal category, in the procedure's order.")
    categories: list[str] = Field(description="Every abnormal category of the opening check.")
    fault: str
    opened_at: datetime
    opened_by: uuid.UUID
    opened_by_check_id: uuid.UUID | None
    started_at: datetime | None
    started_by: uuid.UUID | None
    closed_at: datetime | None
    closed_by: uuid.UUID | None
    resolution: str | None
    version: int


RepairPage = Page[RepairRead]


class RepairClose(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"resolution": "更换电源适配器 测试正常"}]}
    )

    resolution: Text = Field(description="What was done.")


class DueList(BaseModel):
    count: int
    items: list[DeviceRead]


class WorkList(BaseModel):
    """The devices part of an agent's agenda."""

    on: IsoDate
    checks_due_today: DueList
    maintenance_overdue: DueList


class CountByCategory(BaseModel):
    category: str
    count: int


class CountByDeviceType(BaseModel):
    device_type: DeviceType
    count: int


class StatsBucket(BaseModel):
    starts_on: IsoDate
    total: int
    by_category: list[CountByCategory]
    by_device_type: list[CountByDeviceType]


class RepeatedFault(BaseModel):
    device_id: uuid.UUID
    asset_tag: str
    device_type: DeviceType
    repairs: int


class AbnormalityStats(BaseModel):
    """Abnormal findings over a range of business days, for analysis and prevention (procedure §四)."""

    from_: IsoDate = Field(serialization_alias="from")
    to: IsoDate
    bucket: Bucket
    total: int
    by_category: list[CountByCategory]
    by_device_type: list[CountByDeviceType]
    buckets: list[StatsBucket]
    repairs_closed: int
    mean_time_to_repair_hours: float | None = Field(description="Opened → closed, repairs closed in range.")
    repeated_faults: list[RepeatedFault] = Field(description="Devices with 2+ repairs opened in range.")
