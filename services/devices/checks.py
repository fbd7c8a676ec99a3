"""Status checks (procedure §二.2 and §四): findings per category, and the rule they trigger.

Any abnormal finding takes the device out of service at once and opens a repair record; after a
repair is closed, a check with every category good returns the device to service.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from crmkit.pagination import read_cursor, trim
from crmkit.problems import FieldError
from services.devices import repository
from services.devices.categories import BY_CODE, CATEGORIES, CheckCategory
from services.devices.errors import DeviceRetired, InvalidField, InvalidFindings
from services.devices.models import CheckFinding, Device, DeviceCheck, Repair, infra_tables
from services.devices.schemas import (
    CheckCreate,
    CheckPage,
    CheckRead,
    CheckRecorded,
    FindingIn,
    FindingRead,
    Result,
)
from services.devices.service import REPAIR, device_view, move_device, repair_to_read
from services.devices.transitions import AFTER_ABNORMAL_CHECK, AFTER_GOOD_CHECK, DeviceStatus, RepairStatus

CHECK = "check"
LATE_ENTRY = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=2)
CATEGORIES_PATH = "GET /api/v1/devices/check-categories"


def _ordered_findings(findings: list[FindingIn], categories: tuple[CheckCategory, ...]) -> list[FindingIn]:
    """Every category exactly once, none unknown; returned in the procedure's order."""
    known = {c.code for c in categories}
    errors: list[FieldError] = []
    given: dict[str, FindingIn] = {}
    for index, finding in enumerate(findings):
        field = f"findings.{index}.category"
        if finding.category not in known:
            errors.append(
                FieldError(
                    field=field, message=f"unknown category '{finding.category}'; see {CATEGORIES_PATH}"
                )
            )
        elif finding.category in given:
            errors.append(FieldError(field=field, message=f"category '{finding.category}' is given twice"))
        else:
            given[finding.category] = finding
    missing = [c.code for c in categories if c.code not in given]
    if missing:
        errors.append(FieldError(field="findings", message=f"missing a result for: {', '.join(missing)}"))
    if errors:
        raise InvalidFindings(errors)
    return [given[c.code] for c in categories]


def _checked_at(data: CheckCreate, clock: BusinessClock) -> datetime:
    """Now, or when a check entered later was done: never ahead of the clock, at most a week back."""
    now = clock.now()
    if data.checked_at is None:
        return now
    if data.checked_at > now + CLOCK_SKEW:
        raise InvalidField("checked_at", "cannot be in the future")
    if data.checked_at < now - LATE_ENTRY:
        raise InvalidField("checked_at", f"a check may be entered at most {LATE_ENTRY.days} days late")
    return data.checked_at.astimezone(UTC)


def _fault(abnormal: list[FindingIn]) -> str:
    """What was found: the checker's note, or else the procedure's description of the abnormal state."""
    parts = []
    for finding in abnormal:
        category = BY_CODE[finding.category]
        parts.append(f"{category.name_en} ({category.name_zh}): {finding.note or category.abnormal_en}")
    return "; ".join(parts)


def check_to_read(check: DeviceCheck, findings: list[CheckFinding]) -> CheckRead:
    return CheckRead(
        id=check.id,
        device_id=check.device_id,
        checked_by=check.checked_by,
        checked_at=check.checked_at,
        checked_on=check.checked_on,
        result=Result(check.result),
        note=check.note,
        repair_id=check.repair_id,
        findings=[FindingRead(category=f.category, result=Result(f.result), note=f.note) for f in findings],
    )


async def record_check(
    *, session: AsyncSession, clock: BusinessClock, principal: Principal, device: Device, data: CheckCreate
) -> CheckRecorded:
    """Record a check of a (locked) device and apply the procedure's rule to its status."""
    if device.status == DeviceStatus.RETIRED:
        raise DeviceRetired("checks")
    ordered = _ordered_findings(data.findings, CATEGORIES)
    abnormal = [f for f in ordered if f.result is Result.ABNORMAL]

    done_at = _checked_at(data, clock)
    check = DeviceCheck(
        device_id=device.id,
        checked_by=principal.user_id,
        checked_at=done_at,
        checked_on=clock.business_day(done_at),
        result=(Result.ABNORMAL if abnormal else Result.GOOD).value,
        note=data.note,
    )
    session.add(check)
    await session.flush()
    findings = [
        CheckFinding(
            check_id=check.id,
            category=f.category,
            device_id=device.id,
            checked_at=done_at,
            result=f.result.value,
            note=f.note,
        )
        for f in ordered
    ]
    session.add_all(findings)
    if device.last_checked_on is None or device.last_checked_on < check.checked_on:
        device.last_checked_on = check.checked_on
    device.version += 1
    device.updated_at = clock.now()
    await session.flush()
    if device.open_repair_id is None:
        await _apply_check(
            session=session, clock=clock, principal=principal, device=device, check=check, abnormal=abnormal
        )
    read = check_to_read(check, findings)
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="check.recorded",
        resource_type=CHECK,
        resource_id=check.id,
        after=read.model_dump(mode="json"),
    )
    shown = await device_view(session=session, device=device, today=clock.today())
    return CheckRecorded(**read.model_dump(), device=shown)


async def _apply_check(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    device: Device,
    check: DeviceCheck,
    abnormal: list[FindingIn],
) -> None:
    """The procedure's rule for a device with no repair under way (transitions.AFTER_*_CHECK)."""
    status = DeviceStatus(device.status)
    if not abnormal:
        if (target := AFTER_GOOD_CHECK.get(status)) is not None:
            why = f"every category good in check {check.id} after the repair"
            await move_device(
                session=session, clock=clock, principal=principal, device=device, to=target, why=why
            )
        return
    if (target := AFTER_ABNORMAL_CHECK.get(status)) is None:
        return
    repair = await _open_repair(
        session=session, clock=clock, principal=principal, device=device, check=check, abnormal=abnormal
    )
    why = f"abnormal check {check.id}: stop using at once (procedure §四)"
    await move_device(session=session, clock=clock, principal=principal, device=device, to=target, why=why)
    device.open_repair_id = check.repair_id = repair.id
    await session.flush()


async def _open_repair(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    device: Device,
    check: DeviceCheck,
    abnormal: list[FindingIn],
) -> Repair:
    repair = Repair(
        device_id=device.id,
        status=RepairStatus.OPEN.value,
        category=abnormal[0].category,
        categories=[f.category for f in abnormal],
        fault=_fault(abnormal)[:4000],
        opened_at=check.checked_at,
        opened_by=principal.user_id,
        opened_by_check_id=check.id,
        version=1,
    )
    session.add(repair)
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="repair.opened",
        resource_type=REPAIR,
        resource_id=repair.id,
        after=repair_to_read(repair).model_dump(mode="json"),
    )
    return repair


async def findings_by_check(
    *, session: AsyncSession, check_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[CheckFinding]]:
    grouped: dict[uuid.UUID, list[CheckFinding]] = defaultdict(list)
    for finding in await repository.findings_of(session=session, check_ids=check_ids):
        grouped[finding.check_id].append(finding)
    return grouped


async def read_check(*, session: AsyncSession, check: DeviceCheck) -> CheckRead:
    """One check with its findings."""
    grouped = await findings_by_check(session=session, check_ids=[check.id])
    return check_to_read(check, grouped[check.id])


async def device_checks_page(
    *, session: AsyncSession, device_id: uuid.UUID, cursor: str | None, limit: int
) -> CheckPage:
    """A device's checks, newest first, each with its findings."""
    after = read_cursor(cursor, datetime, uuid.UUID)
    found = await repository.list_checks(session=session, device_id=device_id, after=after, limit=limit)
    rows, next_cursor = trim(found, limit, key=lambda r: [r.checked_at, r.id])
    grouped = await findings_by_check(session=session, check_ids=[r.id for r in rows])
    return CheckPage(items=[check_to_read(r, grouped[r.id]) for r in rows], next_cursor=next_cursor)
