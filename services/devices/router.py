"""HTTP endpoints of the devices service: thin handlers over the rules."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from crmkit.clock import IsoDate
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from crmkit.workflow import TRANSITION_OR_CONFLICT_RESPONSES, TRANSITION_RESPONSES
from services.devices import checks, repairs, reports, service
from services.devices.dependencies import (
    MANAGES,
    ChangedDevice,
    ChangedRepair,
    ClockDep,
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ValidCheck,
    ValidDevice,
    ValidRepair,
    WriterDep,
)
from services.devices.repository import DeviceFilters, RepairFilters
from services.devices.schemas import (
    AbnormalityStats,
    Bucket,
    CheckCategoryRead,
    CheckCreate,
    CheckPage,
    CheckRead,
    CheckRecorded,
    DeviceCreate,
    DevicePage,
    DeviceRead,
    DeviceType,
    DeviceUpdate,
    RepairClose,
    RepairPage,
    RepairRead,
    RetireRequest,
    WorkList,
)
from services.devices.transitions import DeviceStatus, RepairStatus

BASE = "/api/v1/devices"
DEVICE = "/{device_id:uuid}"
REPAIR = "/repairs/{repair_id:uuid}"

router = APIRouter(prefix=BASE, tags=["devices"], responses=PROBLEM_RESPONSES)

# Literal paths first; item paths use the uuid convertor, so neither can swallow the other.


@router.get("/check-categories")
async def list_check_categories(_: ReaderDep) -> Page[CheckCategoryRead]:
    """The procedure's check categories (§四) with their good and abnormal states, in its order."""
    return service.check_categories()


@router.get("/checks/due-today")
async def checks_due_today(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    clock: ClockDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> DevicePage:
    """Your in-service devices not yet checked today (business time zone); ops and admins see all."""
    return await service.list_devices(
        session=session,
        clock=clock,
        principal=principal,
        filters=DeviceFilters(check_due_on=clock.today()),
        limit=limit,
        cursor=cursor,
    )


@router.get("/checks/{check_id:uuid}")
async def get_check(check: ValidCheck, session: SessionDep) -> CheckRead:
    """One check with its findings."""
    return await checks.read_check(session=session, check=check)


@router.get("/repairs")
async def list_repairs(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    device_id: uuid.UUID | None = None,
    repair_status: Annotated[RepairStatus | None, Query(alias="status")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> RepairPage:
    """Repairs of the devices you can see, newest first."""
    filters = RepairFilters(device_id=device_id, status=repair_status.value if repair_status else None)
    return await repairs.list_repairs(
        session=session, principal=principal, filters=filters, limit=limit, cursor=cursor
    )


@router.get(REPAIR)
async def get_repair(repair: ValidRepair, response: Response) -> RepairRead:
    """One repair record; the ETag is its version."""
    set_etag(response, repair.version)
    return service.repair_to_read(repair)


@router.post(f"{REPAIR}/start", dependencies=[MANAGES], responses=TRANSITION_RESPONSES)
async def start_repair(
    target: ChangedRepair,
    principal: WriterDep,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> RepairRead:
    """Start the repair: the device goes under repair (ops, admins); requires If-Match."""
    repair, device = target
    check_if_match(if_match, repair.version)
    await repairs.start_repair(
        session=session, clock=clock, principal=principal, repair=repair, device=device
    )
    set_etag(response, repair.version)
    return service.repair_to_read(repair)


@router.post(f"{REPAIR}/close", dependencies=[MANAGES], responses=TRANSITION_RESPONSES)
async def close_repair(
    target: ChangedRepair,
    data: RepairClose,
    principal: WriterDep,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> RepairRead:
    """Close the repair with what was done (ops, admins); a fully good check then returns the device."""
    repair, device = target
    check_if_match(if_match, repair.version)
    await repairs.close_repair(
        session=session,
        clock=clock,
        principal=principal,
        repair=repair,
        device=device,
        resolution=data.resolution,
    )
    set_etag(response, repair.version)
    return service.repair_to_read(repair)


@router.get("/stats/abnormalities", response_model_by_alias=True)
async def abnormality_stats(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    clock: ClockDep,
    from_: Annotated[
        IsoDate | None, Query(alias="from", description="First day (default: 90 days ago).")
    ] = None,
    to: Annotated[IsoDate | None, Query(description="Last day, included (default: today).")] = None,
    bucket: Bucket = Bucket.WEEK,
) -> AbnormalityStats:
    """Abnormal findings by category and device type per week or month, mean time to repair, and
    devices with repeated faults; at most one year at a time."""
    return await reports.abnormality_stats(
        session=session, clock=clock, principal=principal, start=from_, end=to, bucket=bucket
    )


@router.get("/work-list")
async def work_list(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=200, description="Devices shown per list.")] = 20,
) -> WorkList:
    """For the agenda: your devices due a check today, and those overdue for maintenance."""
    return await reports.work_list(session=session, clock=clock, principal=principal, limit=limit)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[MANAGES])
async def create_device(
    data: DeviceCreate,
    principal: WriterDep,
    session: SessionDep,
    clock: ClockDep,
    directory: DirectoryDep,
    response: Response,
) -> DeviceRead:
    """Register a device, in service (ops, admins; send an Idempotency-Key to retry safely)."""
    device = await service.create_device(
        session=session, clock=clock, principal=principal, data=data, directory=directory
    )
    response.headers["Location"] = f"{BASE}/{device.id}"
    set_etag(response, device.version)
    return await service.device_view(session=session, device=device, today=clock.today())


@router.get("")
async def list_devices(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    clock: ClockDep,
    device_status: Annotated[DeviceStatus | None, Query(alias="status")] = None,
    device_type: DeviceType | None = None,
    holder_id: uuid.UUID | None = None,
    location: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    maintenance_overdue: Annotated[
        bool, Query(description="Only devices due maintenance before today.")
    ] = False,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> DevicePage:
    """The devices you can see (held by you or at your location; ops and admins: all), by asset tag."""
    filters = DeviceFilters(
        status=device_status.value if device_status else None,
        device_type=device_type.value if device_type else None,
        holder_id=holder_id,
        location=location,
        maintenance_overdue_on=clock.today() if maintenance_overdue else None,
    )
    return await service.list_devices(
        session=session, clock=clock, principal=principal, filters=filters, limit=limit, cursor=cursor
    )


@router.get(DEVICE)
async def get_device(
    device: ValidDevice, session: SessionDep, clock: ClockDep, response: Response
) -> DeviceRead:
    """Read one device with its open repair (and that repair's ETag); the ETag is the device's version."""
    set_etag(response, device.version)
    return await service.device_view(session=session, device=device, today=clock.today())


@router.patch(DEVICE, dependencies=[MANAGES])
async def update_device(
    device: ChangedDevice,
    patch: DeviceUpdate,
    principal: WriterDep,
    session: SessionDep,
    clock: ClockDep,
    directory: DirectoryDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> DeviceRead:
    """Change a device, or record a maintenance with `last_maintained_on` (ops, admins); requires If-Match."""
    check_if_match(if_match, device.version)
    device = await service.update_device(
        session=session, clock=clock, principal=principal, device=device, patch=patch, directory=directory
    )
    set_etag(response, device.version)
    return await service.device_view(session=session, device=device, today=clock.today())


@router.post(f"{DEVICE}/retire", dependencies=[MANAGES], responses=TRANSITION_RESPONSES)
async def retire_device(
    device: ChangedDevice,
    data: RetireRequest,
    principal: WriterDep,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> DeviceRead:
    """Retire a device for good; it accepts no more checks (ops, admins); requires If-Match."""
    check_if_match(if_match, device.version)
    await service.retire_device(
        session=session, clock=clock, principal=principal, device=device, reason=data.reason
    )
    set_etag(response, device.version)
    return await service.device_view(session=session, device=device, today=clock.today())


@router.post(
    f"{DEVICE}/checks", status_code=status.HTTP_201_CREATED, responses=TRANSITION_OR_CONFLICT_RESPONSES
)
async def record_check(
    device: ChangedDevice,
    data: CheckCreate,
    principal: WriterDep,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> CheckRecorded:
    """Record a check with a result for every category; any abnormal finding takes the device out of
    service and opens a repair (procedure §四)."""
    recorded = await checks.record_check(
        session=session, clock=clock, principal=principal, device=device, data=data
    )
    response.headers["Location"] = f"{BASE}/checks/{recorded.id}"
    return recorded


@router.get(f"{DEVICE}/checks")
async def list_device_checks(
    device: ValidDevice, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> CheckPage:
    """A device's checks, newest first, each with its findings."""
    return await checks.device_checks_page(session=session, device_id=device.id, cursor=cursor, limit=limit)
