"""Business rules of the device register: flush, never commit; raise domain errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from crmkit.concurrency import etag_for
from crmkit.pagination import Page, page_of, read_cursor
from crmkit.workflow import ensure_transition
from services.devices import repository
from services.devices.categories import CATEGORIES
from services.devices.errors import DeviceRetired, DuplicateAssetTag, InvalidField
from services.devices.models import Device, Repair, infra_tables
from services.devices.peers import UserDirectory
from services.devices.repository import DeviceFilters
from services.devices.schemas import (
    CheckCategoryRead,
    DeviceCreate,
    DevicePage,
    DeviceRead,
    DeviceUpdate,
    OpenRepair,
    RepairRead,
)
from services.devices.transitions import DEVICE_TRANSITIONS, REPAIR_TRANSITIONS, DeviceStatus, RepairStatus

DEVICE = "device"
REPAIR = "repair"


REPAIRS_PATH = "/api/v1/devices/repairs"


def open_repair_view(repair: Repair | None) -> OpenRepair | None:
    if repair is None:
        return None
    return OpenRepair(
        id=repair.id,
        status=RepairStatus(repair.status),
        version=repair.version,
        etag=etag_for(repair.version),
        href=f"{REPAIRS_PATH}/{repair.id}",
    )


def to_read(device: Device, *, today: date, repairs: Mapping[uuid.UUID, Repair] | None = None) -> DeviceRead:
    """The device as the API shows it; ``repairs`` holds its open repair (``open_repairs``)."""
    repair = (repairs or {}).get(device.open_repair_id) if device.open_repair_id else None
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
        open_repair=open_repair_view(repair),
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
    for field in (*_COMPUTED, "open_repair"):
        view.pop(field)
    return view


async def device_view(*, session: AsyncSession, device: Device, today: date) -> DeviceRead:
    """One device with its open repair loaded."""
    repairs = await repository.open_repairs(session=session, devices=[device])
    return to_read(device, today=today, repairs=repairs)


def _maintenance_due_on(device: Device, clock: BusinessClock) -> date:
    """Last maintained (or, never maintained, the day it was registered) plus the interval."""
    since = device.last_maintained_on or clock.business_day(device.created_at)
    return since + timedelta(days=device.maintenance_interval_days)


def _check_maintained_on(value: date | None, clock: BusinessClock) -> None:
    if value is not None and value > clock.today():
        raise InvalidField("last_maintained_on", "cannot be in the future")


async def _flush_unique(session: AsyncSession, asset_tag: str) -> None:
    """A concurrent registration of the same tag loses at the unique index: still a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_devices_asset_tag" in str(exc.orig):
            raise DuplicateAssetTag(asset_tag) from exc
        raise


async def check_holder(directory: UserDirectory, holder_id: uuid.UUID | None) -> None:
    """A holder is an active user the caller can see in the gateway's directory (422 otherwise)."""
    if holder_id is None:
        return
    active = await directory.is_active(holder_id)
    if active is None:
        raise InvalidField("holder_id", "no such user")
    if not active:
        raise InvalidField("holder_id", "the user is deactivated")


async def create_device(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    data: DeviceCreate,
    directory: UserDirectory,
) -> Device:
    """Register a device, in service from the start."""
    _check_maintained_on(data.last_maintained_on, clock)
    await check_holder(directory, data.holder_id)
    if await repository.asset_tag_taken(session=session, asset_tag=data.asset_tag, other_than=None):
        raise DuplicateAssetTag(data.asset_tag)
    now = clock.now()
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
    device.maintenance_due_on = _maintenance_due_on(device, clock)
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
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    device: Device,
    patch: DeviceUpdate,
    directory: UserDirectory,
) -> Device:
    """Apply a partial change; one that alters nothing bumps no version and writes no audit."""
    if device.status == DeviceStatus.RETIRED:
        raise DeviceRetired("changes")
    given = patch.model_fields_set
    if "holder_id" in given and patch.holder_id != device.holder_id:
        await check_holder(directory, patch.holder_id)
    if "last_maintained_on" in given:
        _check_maintained_on(patch.last_maintained_on, clock)
    new_tag = patch.asset_tag if patch.asset_tag is not None and patch.asset_tag != device.asset_tag else None
    if new_tag and await repository.asset_tag_taken(session=session, asset_tag=new_tag, other_than=device.id):
        raise DuplicateAssetTag(new_tag)

    before = audit_view(device)
    for field in given:
        value = getattr(patch, field)
        setattr(device, field, value.value if field == "device_type" and value is not None else value)
    device.maintenance_due_on = _maintenance_due_on(device, clock)
    after = audit_view(device)
    old, new = audit.changed_fields(before, after)
    if not new:
        return device
    device.version += 1
    device.updated_at = clock.now()
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
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    device: Device,
    to: DeviceStatus,
    why: str,
) -> None:
    """One status move along the table, audited with the reason."""
    before = device.status
    ensure_transition(DEVICE_TRANSITIONS, resource=DEVICE, current=before, requested=to)
    device.status = to.value
    device.version += 1
    device.updated_at = clock.now()
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
    *, session: AsyncSession, clock: BusinessClock, principal: Principal, repair: Repair, resolution: str
) -> None:
    """Close a repair along the repair table, audited."""
    before = repair_to_read(repair).model_dump(mode="json")
    ensure_transition(
        REPAIR_TRANSITIONS, resource=REPAIR, current=repair.status, requested=RepairStatus.CLOSED
    )
    repair.status = RepairStatus.CLOSED.value
    repair.closed_at = clock.now()
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
    *, session: AsyncSession, clock: BusinessClock, principal: Principal, device: Device, reason: str
) -> Device:
    """Retire a device for good; a repair still under way is closed with the reason."""
    # 409 before anything changes
    ensure_transition(
        DEVICE_TRANSITIONS, resource=DEVICE, current=device.status, requested=DeviceStatus.RETIRED
    )
    if device.open_repair_id is not None:
        repair = await repository.get_visible_repair(
            session=session, principal=principal, repair_id=device.open_repair_id, for_update=True
        )
        if repair is not None:
            await close_repair_record(
                session=session,
                clock=clock,
                principal=principal,
                repair=repair,
                resolution=f"device retired: {reason}",
            )
        device.open_repair_id = None
    await move_device(
        session=session, clock=clock, principal=principal, device=device, to=DeviceStatus.RETIRED, why=reason
    )
    return device


async def list_devices(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    filters: DeviceFilters,
    limit: int,
    cursor: str | None,
) -> DevicePage:
    """One page of the devices the caller can see, by asset tag (unique, so the whole keyset)."""
    after = read_cursor(cursor, str)
    rows = await repository.list_devices(
        session=session, principal=principal, filters=filters, after=after[0] if after else None, limit=limit
    )
    today = clock.today()
    repairs = await repository.open_repairs(session=session, devices=list(rows))
    return page_of(
        rows, limit, key=lambda d: [d.asset_tag], view=lambda d: to_read(d, today=today, repairs=repairs)
    )


def check_categories() -> Page[CheckCategoryRead]:
    """The procedure's check categories, numbered in its order."""
    return Page(
        items=[
            CheckCategoryRead(position=position, **asdict(category))
            for position, category in enumerate(CATEGORIES, start=1)
        ]
    )
