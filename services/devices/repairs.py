"""Repairs (procedure §四: troubleshoot and repair): started, then closed with what was done."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.pagination import encode_cursor
from services.devices import repository
from services.devices.models import Device, Repair, infra_tables
from services.devices.repository import RepairFilters
from services.devices.schemas import RepairPage
from services.devices.service import (
    REPAIR,
    Tools,
    close_repair_record,
    move_device,
    read_time_cursor,
    repair_to_read,
)
from services.devices.states import DeviceStatus, RepairStatus, next_repair_status


async def start_repair(
    *, session: AsyncSession, tools: Tools, principal: Principal, repair: Repair, device: Device
) -> Repair:
    """Work begins: the repair is in progress and the device under repair."""
    before = repair.status
    repair.status = next_repair_status(before, RepairStatus.IN_PROGRESS).value
    repair.started_at = tools.now()
    repair.started_by = principal.user_id
    repair.version += 1
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="repair.started",
        resource_type=REPAIR,
        resource_id=repair.id,
        before={"status": before},
        after={"status": repair.status, "started_at": repair.started_at.isoformat()},
    )
    await move_device(
        session=session,
        tools=tools,
        principal=principal,
        device=device,
        to=DeviceStatus.UNDER_REPAIR,
        why=f"repair {repair.id} started",
    )
    return repair


async def close_repair(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    repair: Repair,
    device: Device,
    resolution: str,
) -> Repair:
    """The repair is done; the device stays under repair until a check finds every category good."""
    await close_repair_record(
        session=session, tools=tools, principal=principal, repair=repair, resolution=resolution
    )
    if device.status == DeviceStatus.OUT_OF_SERVICE:  # closed without a separate start (a quick fix)
        await move_device(
            session=session,
            tools=tools,
            principal=principal,
            device=device,
            to=DeviceStatus.UNDER_REPAIR,
            why=f"repair {repair.id} closed",
        )
    device.open_repair_id = None
    device.version += 1
    await session.flush()
    return repair


async def list_repairs(
    *, session: AsyncSession, principal: Principal, filters: RepairFilters, limit: int, cursor: str | None
) -> RepairPage:
    """Repairs of the devices the caller can see, newest first."""
    rows = await repository.list_repairs(
        session=session, principal=principal, filters=filters, after=read_time_cursor(cursor), limit=limit
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].opened_at.isoformat(), str(rows[-1].id)])
    return RepairPage(items=[repair_to_read(r) for r in rows], next_cursor=next_cursor)
