"""Request dependencies: the caller, the business clock, and the device, check or repair it names
(in scope, or 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from crmkit.auth import Principal, Role, require_roles, require_scope
from crmkit.clock import BusinessClock
from crmkit.db import SessionDep
from services.devices import repository
from services.devices.config import Settings
from services.devices.errors import CheckNotFound, DeviceNotFound, RepairNotFound
from services.devices.models import Device, DeviceCheck, Repair
from services.devices.peers import UserDirectory

__all__ = [
    "ChangedDevice",
    "ChangedRepair",
    "ClockDep",
    "ManagerDep",
    "ReaderDep",
    "SessionDep",
    "ValidCheck",
    "ValidDevice",
    "ValidRepair",
    "WriterDep",
]

ReaderDep = Annotated[Principal, require_scope("devices:read")]
WriterDep = Annotated[Principal, require_scope("devices:write")]
MANAGES = require_roles(Role.OPS, Role.ADMIN)
"""Registering, changing and retiring devices and working repairs is for ops staff and admins."""
ManagerDep = Annotated[Principal, MANAGES]

DeviceId = Annotated[uuid.UUID, Path(description="The device's id.")]
CheckId = Annotated[uuid.UUID, Path(description="The check's id.")]
RepairId = Annotated[uuid.UUID, Path(description="The repair's id.")]


async def get_clock(request: Request) -> BusinessClock:
    """The business clock of the app's time zone (settings.zone)."""
    settings: Settings = request.app.state.settings
    return BusinessClock(zone=settings.zone)


ClockDep = Annotated[BusinessClock, Depends(get_clock)]


async def get_directory(request: Request) -> UserDirectory:
    """The gateway's user directory, asked with the caller's own token."""
    settings: Settings = request.app.state.settings
    return UserDirectory(
        http=request.app.state.peer_http,
        base_url=settings.identity_url,
        authorization=request.headers.get("authorization"),
    )


DirectoryDep = Annotated[UserDirectory, Depends(get_directory)]


async def valid_device(device_id: DeviceId, principal: ReaderDep, session: SessionDep) -> Device:
    """The device in the caller's scope; anything else is the same 404."""
    device = await repository.get_visible_device(session=session, principal=principal, device_id=device_id)
    if device is None:
        raise DeviceNotFound()
    return device


async def device_to_change(device_id: DeviceId, principal: WriterDep, session: SessionDep) -> Device:
    """Like ``valid_device``, but locked until the transaction ends, so checks and changes serialise."""
    device = await repository.get_visible_device(
        session=session, principal=principal, device_id=device_id, for_update=True
    )
    if device is None:
        raise DeviceNotFound()
    return device


async def valid_check(check_id: CheckId, principal: ReaderDep, session: SessionDep) -> DeviceCheck:
    check = await repository.get_visible_check(session=session, principal=principal, check_id=check_id)
    if check is None:
        raise CheckNotFound()
    return check


async def valid_repair(repair_id: RepairId, principal: ReaderDep, session: SessionDep) -> Repair:
    repair = await repository.get_visible_repair(session=session, principal=principal, repair_id=repair_id)
    if repair is None:
        raise RepairNotFound()
    return repair


async def repair_to_change(
    repair_id: RepairId, principal: WriterDep, session: SessionDep
) -> tuple[Repair, Device]:
    """The repair and its device, both locked (device first, the order every writer takes)."""
    repair = await repository.get_visible_repair(session=session, principal=principal, repair_id=repair_id)
    if repair is None:
        raise RepairNotFound()
    device = await repository.get_device(session=session, device_id=repair.device_id, for_update=True)
    if device is None:
        raise RepairNotFound()
    await session.refresh(repair, with_for_update=True)
    return repair, device


ValidDevice = Annotated[Device, Depends(valid_device)]
ChangedDevice = Annotated[Device, Depends(device_to_change)]
ValidCheck = Annotated[DeviceCheck, Depends(valid_check)]
ValidRepair = Annotated[Repair, Depends(valid_repair)]
ChangedRepair = Annotated[tuple[Repair, Device], Depends(repair_to_change)]
