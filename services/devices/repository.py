"""Queries on devices, checks and repairs; never commits (the request's session does)."""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    TextClause,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal, Role
from services.devices.categories import POSITION
from services.devices.models import IN_SERVICE, NOT_RETIRED, CheckFinding, Device, DeviceCheck, Repair

MANAGERS = (Role.OPS, Role.ADMIN)


class Sight(enum.Enum):
    """Which devices a caller sees, without the who: the shape of ``visible_to``."""

    ALL = "all"
    HELD = "held"
    HELD_OR_HERE = "held or here"
    NONE = "none"


def sight(principal: Principal) -> Sight:
    if principal.role in MANAGERS:
        return Sight.ALL
    if principal.role in (Role.AGENT, Role.TEAM_LEAD):
        return Sight.HELD_OR_HERE if principal.location else Sight.HELD
    return Sight.NONE


def _seen(kind: Sight, *, holder: Any, location: Any) -> ColumnElement[bool]:
    if kind is Sight.ALL:
        return true()
    if kind is Sight.NONE:
        return false()
    mine = col(Device.holder_id) == holder
    return or_(mine, col(Device.location) == location) if kind is Sight.HELD_OR_HERE else mine


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Ops and admins see every device; agents and team leads those they hold or that sit at their
    location (two indexed predicates, combined by a BitmapOr)."""
    return _seen(sight(principal), holder=principal.user_id, location=principal.location)


async def get_visible_device(
    *, session: AsyncSession, principal: Principal, device_id: uuid.UUID, for_update: bool = False
) -> Device | None:
    """One indexed lookup; ``for_update`` locks the row so checks and changes cannot race."""
    stmt = select(Device).where(col(Device.id) == device_id, visible_to(principal))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_device(
    *, session: AsyncSession, device_id: uuid.UUID, for_update: bool = False
) -> Device | None:
    stmt = select(Device).where(col(Device.id) == device_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def asset_tag_taken(*, session: AsyncSession, asset_tag: str, other_than: uuid.UUID | None) -> bool:
    stmt = select(col(Device.id)).where(col(Device.asset_tag) == asset_tag)
    if other_than is not None:
        stmt = stmt.where(col(Device.id) != other_than)
    return (await session.execute(stmt)).first() is not None


Condition = ColumnElement[bool] | TextClause


def _checks_due(on: Any) -> list[Condition]:
    """In service and not checked since before ``on`` (the partial index ix_devices_last_checked_on)."""
    return [IN_SERVICE, or_(col(Device.last_checked_on).is_(None), col(Device.last_checked_on) < on)]


def _maintenance_overdue(on: Any) -> list[Condition]:
    """Not retired and due maintenance before ``on`` (the partial index ix_devices_maintenance_due_on)."""
    return [NOT_RETIRED, col(Device.maintenance_due_on) < on]


# The agenda's work lists, on a day ``on``.
WORK_LISTS: dict[str, Callable[[Any], list[Condition]]] = {
    "checks_due_today": _checks_due,
    "maintenance_overdue": _maintenance_overdue,
}


@dataclass(frozen=True, slots=True)
class DeviceFilters:
    status: str | None = None
    device_type: str | None = None
    holder_id: uuid.UUID | None = None
    location: str | None = None
    maintenance_overdue_on: date | None = None
    check_due_on: date | None = None


def _filtered(principal: Principal, filters: DeviceFilters) -> list[Condition]:
    conditions: list[Condition] = [visible_to(principal)]
    if filters.status is not None:
        conditions.append(col(Device.status) == filters.status)
    if filters.device_type is not None:
        conditions.append(col(Device.device_type) == filters.device_type)
    if filters.holder_id is not None:
        conditions.append(col(Device.holder_id) == filters.holder_id)
    if filters.location is not None:
        conditions.append(col(Device.location) == filters.location)
    if filters.maintenance_overdue_on is not None:
        conditions.extend(WORK_LISTS["maintenance_overdue"](filters.maintenance_overdue_on))
    if filters.check_due_on is not None:
        conditions.extend(WORK_LISTS["checks_due_today"](filters.check_due_on))
    return conditions


async def list_devices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: DeviceFilters,
    after: str | None,
    limit: int,
) -> list[Device]:
    """By asset tag (unique, so it is the whole keyset); up to ``limit + 1`` rows to detect more."""
    conditions = _filtered(principal, filters)
    if after is not None:
        conditions.append(col(Device.asset_tag) > after)
    stmt = select(Device).where(*conditions).order_by(col(Device.asset_tag)).limit(limit + 1)
    return list((await session.execute(stmt)).scalars())


@functools.lru_cache(maxsize=32)
def _work_list(name: str, kind: Sight, rows: int) -> Select[Device, int]:
    """A work list's first ``rows`` devices by asset tag, each with the count of the whole list, for
    one sight: built once (building the list and its count per request, four statements a call, was
    a third of this service's CPU on the agenda, issue 22). Run with ``on``, ``holder`` and ``location``."""
    conditions: list[Condition] = [
        _seen(kind, holder=bindparam("holder"), location=bindparam("location")),
        *WORK_LISTS[name](bindparam("on", type_=Date)),
    ]
    listed = func.count().over().label("listed")
    return select(Device, listed).where(*conditions).order_by(col(Device.asset_tag)).limit(rows)


async def work_list(
    *, session: AsyncSession, principal: Principal, name: str, on: date, limit: int
) -> tuple[list[Device], int]:
    """The first ``limit`` devices of the work list ``name`` (``WORK_LISTS``) the caller sees, and
    how many the whole list holds, in one statement."""
    parameters = {"on": on, "holder": principal.user_id, "location": principal.location}
    rows = (await session.execute(_work_list(name, sight(principal), limit), parameters)).all()
    return [row[0] for row in rows], rows[0].listed if rows else 0


async def findings_of(*, session: AsyncSession, check_ids: list[uuid.UUID]) -> list[CheckFinding]:
    """Findings of some checks (by primary key), in the procedure's category order."""
    if not check_ids:
        return []
    stmt = select(CheckFinding).where(col(CheckFinding.check_id).in_(check_ids))
    rows = (await session.execute(stmt)).scalars()
    return sorted(rows, key=lambda f: (f.check_id, POSITION.get(f.category, 0)))


async def get_visible_check(
    *, session: AsyncSession, principal: Principal, check_id: uuid.UUID
) -> DeviceCheck | None:
    stmt = (
        select(DeviceCheck)
        .join(Device, col(Device.id) == col(DeviceCheck.device_id))
        .where(col(DeviceCheck.id) == check_id, visible_to(principal))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_checks(
    *, session: AsyncSession, device_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[DeviceCheck]:
    """A device's checks, newest first (index ix_device_checks_device_recent)."""
    stmt = select(DeviceCheck).where(col(DeviceCheck.device_id) == device_id)
    if after is not None:
        stmt = stmt.where(tuple_(col(DeviceCheck.checked_at), col(DeviceCheck.id)) < tuple_(*after))
    stmt = stmt.order_by(col(DeviceCheck.checked_at).desc(), col(DeviceCheck.id).desc()).limit(limit + 1)
    return list((await session.execute(stmt)).scalars())


async def get_visible_repair(
    *, session: AsyncSession, principal: Principal, repair_id: uuid.UUID, for_update: bool = False
) -> Repair | None:
    stmt = (
        select(Repair)
        .join(Device, col(Device.id) == col(Repair.device_id))
        .where(col(Repair.id) == repair_id, visible_to(principal))
    )
    if for_update:
        stmt = stmt.with_for_update(of=Repair)
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_repairs(*, session: AsyncSession, devices: list[Device]) -> dict[uuid.UUID, Repair]:
    """The open repairs of these (already visible) devices, by id: one query for a page."""
    ids = [d.open_repair_id for d in devices if d.open_repair_id is not None]
    if not ids:
        return {}
    rows = (await session.execute(select(Repair).where(col(Repair.id).in_(ids)))).scalars()
    return {r.id: r for r in rows}


@dataclass(frozen=True, slots=True)
class RepairFilters:
    device_id: uuid.UUID | None = None
    status: str | None = None


async def list_repairs(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: RepairFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Repair]:
    """Newest first, keyset on (opened_at, id)."""
    stmt = select(Repair).join(Device, col(Device.id) == col(Repair.device_id)).where(visible_to(principal))
    if filters.device_id is not None:
        stmt = stmt.where(col(Repair.device_id) == filters.device_id)
    if filters.status is not None:
        stmt = stmt.where(col(Repair.status) == filters.status)
    if after is not None:
        stmt = stmt.where(tuple_(col(Repair.opened_at), col(Repair.id)) < tuple_(*after))
    stmt = stmt.order_by(col(Repair.opened_at).desc(), col(Repair.id).desc()).limit(limit + 1)
    return list((await session.execute(stmt)).scalars())
