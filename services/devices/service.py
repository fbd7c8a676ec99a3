"""Business rules of the device register: flush, never commit; raise domain errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import FieldError, Unprocessable
from services.devices import repository
from services.devices.errors import DeviceRetired, DuplicateAssetTag, InvalidField
from services.devices.models import Device, Repair, infra_tables
from services.devices.repository import DeviceFilters
from services.devices.schemas import DeviceCreate, DevicePage, DeviceRead, DeviceUpdate, RepairRead
from services.devices.states import DeviceStatus, RepairStatus, next_device_status, next_repair_status

DEVICE = "device"
REPAIR = "repair"


@dataclass(frozen=True, slots=True)
class Tools:
    """What the rules need beyond the session: the business time zone."""

    zone: ZoneInfo

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def business_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def to_read(device: Device, *, today: date) -> DeviceRead:
    return DeviceRead(
        id=device.id,
        device_type=device.device_type,
        asset_tag=device.asset_tag,
        model=device.model,
        holder_id=device.holder_id,
        location=device.location,
        maintenance_interval_days=device.maintenance_interval_days,
        last_maintained_on=device.last_maintained_on,
        maintenance_due_on=device.maintenance_due_on,
        maintenance_overdue=device.status != DeviceStatus.RETIRED and device.maintenance_due_on < today,
        status=device.status,
        last_checked_on=device.last_checked_on,
        checked_today=device.last_checked_on is not None and device.last_checked_on >= today,
        open_repair_id=device.open_repair_id,
        version=device.version,
        created_at=device.created_at,
        updated_at=device.updated_at,
    )


def repair_to_read(repair: Repair) -> RepairRead:
    return RepairRead.model_validate(repair, from_attributes=True)


_COMPUTED = ("maintenance_overdue", "checked_today")


def audit_view(device: Device) -> dict[str, Any]:
    """The stored fields only: the audit trail records facts, not what "today" made of them."""
    view = to_read(device, today=date.min).model_dump(mode="json")
    for field in _COMPUTED:
        view.pop(field)
    return view


def _maintenance_due_on(device: Device, tools: Tools) -> date:
    """Last maintained (or, never maintained, the day it was registered) plus the interval."""
    since = device.last_maintained_on or tools.business_day(device.created_at)
    return since + timedelta(days=device.maintenance_interval_days)


def _check_maintained_on(value: date | None, tools: Tools) -> None:
    if value is not None and value > tools.today():
        raise InvalidField("last_maintained_on", "cannot be in the future")


async def _flush_unique(session: AsyncSession, asset_tag: str) -> None:
    """A concurrent registration of the same tag loses at the unique index: still a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_devices_asset_tag" in str(exc.orig):
            raise DuplicateAssetTag(asset_tag) from exc
        raise


async def create_device(
    *, session: AsyncSession, tools: Tools, principal: Principal, data: DeviceCreate
) -> Device:
    """Register a device, in service from the start."""
    _check_maintained_on(data.last_maintained_on, tools)
    if await repository.asset_tag_taken(session=session, asset_tag=data.asset_tag, other_than=None):
        raise DuplicateAssetTag(data.asset_tag)
    now = tools.now()
    device = Device(
        device_type=data.device_type.value,
        asset_tag=data.asset_tag,
        model=data.model,
        holder_id=data.holder_id,
        location=data.location,
        maintenance_interval_days=data.maintenance_interval_days,
        last_maintained_on=data.last_maintained_on,
        maintenance_due_on=date.min,
        status=DeviceStatus.IN_SERVICE.value,
        version=1,
        created_at=now,
        updated_at=now,
    )
    device.maintenance_due_on = _maintenance_due_on(device, tools)
    session.add(device)
    await _flush_unique(session, data.asset_tag)
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="device.created",
        resource_type=DEVICE,
        resource_id=device.id,
        after=audit_view(device),
    )
    return device


async def update_device(
    *, session: AsyncSession, tools: Tools, principal: Principal, device: Device, patch: DeviceUpdate
) -> Device:
    """Apply a partial change; one that alters nothing bumps no version and writes no audit."""
    if device.status == DeviceStatus.RETIRED:
        raise DeviceRetired("changes")
    given = patch.model_fields_set
    if "last_maintained_on" in given:
        _check_maintained_on(patch.last_maintained_on, tools)
    new_tag = patch.asset_tag if patch.asset_tag is not None and patch.asset_tag != device.asset_tag else None
    if new_tag and await repository.asset_tag_taken(session=session, asset_tag=new_tag, other_than=device.id):
        raise DuplicateAssetTag(new_tag)

    before = audit_view(device)
    for field in given:
        value = getattr(patch, field)
        setattr(device, field, value.value if field == "device_type" and value is not None else value)
    device.maintenance_due_on = _maintenance_due_on(device, tools)
    after = audit_view(device)
    old, new = audit.changed_fields(before, after)
    if not new:
        return device
    device.version += 1
    device.updated_at = tools.now()
    await _flush_unique(session, device.asset_tag)
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="device.updated",
        resource_type=DEVICE,
        resource_id=device.id,
        before=old,
        after=new,
    )
    return device


async def move_device(
    *, session: AsyncSession, tools: Tools, principal: Principal, device: Device, to: DeviceStatus, why: str
) -> None:
    """One status move along the table, audited with the reason."""
    before = device.status
    device.status = next_device_status(before, to).value
    device.version += 1
    device.updated_at = tools.now()
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="device.status_changed",
        resource_type=DEVICE,
        resource_id=device.id,
        before={"status": before},
        after={"status": device.status, "reason": why},
    )


async def close_repair_record(
    *, session: AsyncSession, tools: Tools, principal: Principal, repair: Repair, resolution: str
) -> None:
    """Close a repair along the repair table, audited."""
    before = repair_to_read(repair).model_dump(mode="json")
    repair.status = next_repair_status(repair.status, RepairStatus.CLOSED).value
    repair.closed_at = tools.now()
    repair.closed_by = principal.user_id
    repair.resolution = resolution
    repair.version += 1
    await session.flush()
    after = repair_to_read(repair).model_dump(mode="json")
    old, new = audit.changed_fields(before, after)
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="repair.closed",
        resource_type=REPAIR,
        resource_id=repair.id,
        before=old,
        after=new,
    )


async def retire_device(
    *, session: AsyncSession, tools: Tools, principal: Principal, device: Device, reason: str
) -> Device:
    """Retire a device for good; a repair still under way is closed with the reason."""
    next_device_status(device.status, DeviceStatus.RETIRED)  # 409 before anything changes
    if device.open_repair_id is not None:
        repair = await repository.get_visible_repair(
            session=session, principal=principal, repair_id=device.open_repair_id, for_update=True
        )
        if repair is not None:
            await close_repair_record(
                session=session,
                tools=tools,
                principal=principal,
                repair=repair,
                resolution=f"device retired: {reason}",
            )
        device.open_repair_id = None
    await move_device(
        session=session, tools=tools, principal=principal, device=device, to=DeviceStatus.RETIRED, why=reason
    )
    return device


def _read_cursor(cursor: str | None) -> str | None:
    values = decode_cursor(cursor, arity=1)
    if values is None:
        return None
    if not isinstance(values[0], str):
        raise Unprocessable(
            "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
        )
    return values[0]


async def list_devices(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    filters: DeviceFilters,
    limit: int,
    cursor: str | None,
) -> DevicePage:
    """One page of the devices the caller can see, by asset tag."""
    rows = await repository.list_devices(
        session=session, principal=principal, filters=filters, after=_read_cursor(cursor), limit=limit
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].asset_tag])
    today = tools.today()
    return DevicePage(items=[to_read(row, today=today) for row in rows], next_cursor=next_cursor)


def read_time_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A (timestamp, id) keyset cursor, as issued by the check and repair lists."""
    values = decode_cursor(cursor, arity=2)
    if values is None:
        return None
    try:
        moment = datetime.fromisoformat(str(values[0]))
        row_id = uuid.UUID(str(values[1]))
    except ValueError:
        moment, row_id = None, None
    if moment is None or row_id is None or moment.tzinfo is None:
        raise Unprocessable(
            "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
        )
    return moment, row_id
