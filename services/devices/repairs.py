"""Repairs (procedure §四: troubleshoot and repair): started, then closed with what was done."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from crmkit.pagination import page_of, read_cursor
from crmkit.workflow import ensure_transition
from services.devices import repository
from services.devices.models import Device, Repair, infra_tables
from services.devices.repository import RepairFilters
from services.devices.schemas import RepairPage
from services.devices.service import REPAIR, close_repair_record, move_device, repair_to_read
from services.devices.transitions import AFTER_REPAIR_CLOSED, REPAIR_TRANSITIONS, DeviceStatus, RepairStatus


async def start_repair(
    *, session: AsyncSession, clock: BusinessClock, principal: Principal, repair: Repair, device: Device
) -> Repair:
    """Work begins: the repair is in progress and the device under repair."""
    before = repair.status
    ensure_transition(REPAIR_TRANSITIONS, resource=REPAIR, current=before, requested=RepairStatus.IN_PROGRESS)
    repair.status = RepairStatus.IN_PROGRESS.value
    repair.started_at = clock.now()
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
        clock=clock,
        principal=principal,
        device=device,
        to=DeviceStatus.UNDER_REPAIR,
        why=f"repair {repair.id} started",
    )
    return repair


async def close_repair(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    repair: Repair,
    device: Device,
    resolution: str,
) -> Repair:
    """The repair is done; the device stays under repair until a check finds every category good."""
    await close_repair_record(
        session=session, clock=clock, principal=principal, repair=repair, resolution=resolution
    )
    if (target := AFTER_REPAIR_CLOSED.get(DeviceStatus(device.status))) is not None:
        await move_device(
            session=session,
            clock=clock,
            principal=principal,
            device=device,
            to=target,
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
    after = read_cursor(cursor, datetime, uuid.UUID)
    rows = await repository.list_repairs(
        session=session, principal=principal, filters=filters, after=after, limit=limit
    )
    return page_of(rows, limit, key=lambda r: [r.opened_at, r.id], view=repair_to_read)
