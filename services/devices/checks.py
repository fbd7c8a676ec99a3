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
from crmkit.pagination import encode_cursor
from crmkit.problems import FieldError
from services.devices import repository
from services.devices.categories import BY_CODE, CATEGORIES, CheckCategory
from services.devices.errors import DeviceRetired, InvalidField, InvalidFindings
from services.devices.models import CheckFinding, Device, DeviceCheck, Repair, infra_tables
from services.devices.schemas import CheckCreate, CheckPage, CheckRead, FindingIn, FindingRead, Result
from services.devices.service import REPAIR, Tools, move_device, read_time_cursor, repair_to_read
from services.devices.states import DeviceStatus, RepairStatus

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


def _checked_at(data: CheckCreate, tools: Tools) -> datetime:
    """Now, or when a check entered later was done: never ahead of the clock, at most a week back."""
    now = tools.now()
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
    *, session: AsyncSession, tools: Tools, principal: Principal, device: Device, data: CheckCreate
) -> tuple[DeviceCheck, list[CheckFinding]]:
    """Record a check of a (locked) device and apply the procedure's rule to its status."""
    if device.status == DeviceStatus.RETIRED:
        raise DeviceRetired("checks")
    ordered = _ordered_findings(data.findings, CATEGORIES)
    abnormal = [f for f in ordered if f.result is Result.ABNORMAL]

    done_at = _checked_at(data, tools)
    check = DeviceCheck(
        device_id=device.id,
        checked_by=principal.user_id,
        checked_at=done_at,
        checked_on=tools.business_day(done_at),
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
    device.updated_at = tools.now()
    await session.flush()
    if abnormal and device.open_repair_id is None:
        repair = await _open_repair(
            session=session,
            tools=tools,
            principal=principal,
            device=device,
            check=check,
            abnormal=abnormal,
        )
        await move_device(
            session=session,
            tools=tools,
            principal=principal,
            device=device,
            to=DeviceStatus.OUT_OF_SERVICE,
            why=f"abnormal check {check.id}: stop using at once (procedure §四)",
        )
        device.open_repair_id = check.repair_id = repair.id
        await session.flush()
    elif not abnormal and device.status == DeviceStatus.UNDER_REPAIR and device.open_repair_id is None:
        await move_device(
            session=session,
            tools=tools,
            principal=principal,
            device=device,
            to=DeviceStatus.IN_SERVICE,
            why=f"every category good in check {check.id} after the repair",
        )
    # Otherwise the status stands: a good check of a device in service, or any check while a repair
    # is still under way (its findings are recorded for the repair, which stays the only open one).
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="check.recorded",
        resource_type=CHECK,
        resource_id=check.id,
        after=check_to_read(check, findings).model_dump(mode="json"),
    )
    return check, findings


async def _open_repair(
    *,
    session: AsyncSession,
    tools: Tools,
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


async def device_checks_page(
    *, session: AsyncSession, device_id: uuid.UUID, cursor: str | None, limit: int
) -> CheckPage:
    """A device's checks, newest first, each with its findings."""
    rows = await repository.list_checks(
        session=session, device_id=device_id, after=read_time_cursor(cursor), limit=limit
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].checked_at.isoformat(), str(rows[-1].id)])
    grouped = await findings_by_check(session=session, check_ids=[r.id for r in rows])
    return CheckPage(items=[check_to_read(r, grouped[r.id]) for r in rows], next_cursor=next_cursor)
