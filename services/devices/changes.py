"""The devices service's feeds: events for the gateway, changes for offline sync (crmkit/changes.py)."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.changes import FeedResource, Loaded, feed_routers
from crmkit.events import Publication
from services.devices.dependencies import get_clock
from services.devices.models import Device, infra_tables
from services.devices.repository import open_repairs, visible_to
from services.devices.service import to_read
from services.devices.transitions import DeviceStatus


async def load_devices(
    *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> Loaded:
    """Devices in the caller's scope as ``GET /devices/{id}`` shows them (retired ones too)."""
    today = (await get_clock(request)).today()
    stmt = select(Device).where(col(Device.id).in_(ids), visible_to(principal))
    devices = list((await session.execute(stmt)).scalars())
    repairs = await open_repairs(session=session, devices=devices)
    return {d.id: to_read(d, today=today, repairs=repairs).model_dump(mode="json") for d in devices}


PUBLICATION = Publication(
    by_status={
        "device.status_changed": {
            DeviceStatus.OUT_OF_SERVICE: "device.out_of_service",
            DeviceStatus.UNDER_REPAIR: "device.under_repair",
            DeviceStatus.IN_SERVICE: "device.returned_to_service",
            DeviceStatus.RETIRED: "device.retired",
        },
    }
)
"""A device's status change is published as what happened to it."""

RESOURCES = {"device": FeedResource(load=load_devices, created_by=frozenset({"device.created"}))}

routers = feed_routers(
    service="devices",
    audit_log=infra_tables.audit_log,
    resources=RESOURCES,
    scope="devices:read",
    publication=PUBLICATION,
)
