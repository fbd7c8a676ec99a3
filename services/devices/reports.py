"""Report queries: abnormality statistics for prevention (procedure §四: record abnormalities for
analysis), and the devices part of an agent's agenda (the work lists).

Everything is counted by PostgreSQL (GROUP BY GROUPING SETS over ``date_trunc`` in the business
time zone); Python only lays the aggregated rows out.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, cast, extract, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from services.devices import repository, service
from services.devices.errors import InvalidField
from services.devices.models import CheckFinding, Device, Repair
from services.devices.repository import visible_to
from services.devices.schemas import (
    AbnormalityStats,
    Bucket,
    CountByCategory,
    CountByDeviceType,
    DeviceType,
    DueList,
    RepeatedFault,
    StatsBucket,
    WorkList,
)

REPEATED_FAULT_REPAIRS = 2
REPEATED_FAULTS_SHOWN = 50
DEFAULT_SPAN = timedelta(days=90)

# grouping(starts_on, category, device_type): a bit is set for each column aggregated away.
BY_BUCKET_CATEGORY, BY_BUCKET_TYPE, BY_BUCKET = 0b001, 0b010, 0b011
BY_CATEGORY, BY_TYPE, OVERALL = 0b101, 0b110, 0b111


def one_year_after(day: date) -> date:
    """The same day a year later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def check_range(start: date, end: date) -> None:
    """``from`` on or before ``to``, and at most a year apart (to the day)."""
    if start > end:
        raise InvalidField("query.from", f"must be on or before to ({end.isoformat()})")
    if end > one_year_after(start):
        raise InvalidField("query.to", "the range may span at most one year; ask for it in parts")


def bucket_start(day: date, bucket: Bucket) -> date:
    """Monday of the ISO week, or the first of the month (what date_trunc gives)."""
    return day - timedelta(days=day.weekday()) if bucket is Bucket.WEEK else day.replace(day=1)


def _next_bucket(day: date, bucket: Bucket) -> date:
    if bucket is Bucket.WEEK:
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _bucket_starts(start: date, end: date, bucket: Bucket) -> list[date]:
    starts, day = [], bucket_start(start, bucket)
    while day <= end:
        starts.append(day)
        day = _next_bucket(day, bucket)
    return starts


async def abnormality_stats(
    *,
    session: AsyncSession,
    clock: BusinessClock,
    principal: Principal,
    start: date | None,
    end: date | None,
    bucket: Bucket,
) -> AbnormalityStats:
    """Abnormal findings by category and device type per bucket; repairs' mean time; repeat faults.
    The range defaults to the 90 days up to today."""
    end = end or clock.today()
    start = start or end - DEFAULT_SPAN
    check_range(start, end)
    lower = clock.start_of(start)
    upper = clock.start_of(end + timedelta(days=1))

    local_time = func.timezone(clock.zone.key, col(CheckFinding.checked_at))
    abnormal = (
        select(
            cast(func.date_trunc(bucket.value, local_time), Date).label("starts_on"),
            col(CheckFinding.category).label("category"),
            col(Device.device_type).label("device_type"),
        )
        .join(Device, col(Device.id) == col(CheckFinding.device_id))
        .where(
            col(CheckFinding.result) == "abnormal",
            col(CheckFinding.checked_at) >= lower,
            col(CheckFinding.checked_at) < upper,
            visible_to(principal),
        )
        .subquery()
    )
    s, c, t = abnormal.c.starts_on, abnormal.c.category, abnormal.c.device_type
    grouped = select(s, c, t, func.grouping(s, c, t).label("level"), func.count().label("n")).group_by(
        func.grouping_sets(tuple_(s, c), tuple_(s, t), s, c, t, tuple_())
    )
    rows = (await session.execute(grouped)).all()

    total = 0
    by_category: list[CountByCategory] = []
    by_type: list[CountByDeviceType] = []
    per_bucket: dict[date, StatsBucket] = {
        day: StatsBucket(starts_on=day, total=0, by_category=[], by_device_type=[])
        for day in _bucket_starts(start, end, bucket)
    }
    for row in sorted(rows, key=lambda r: (-r.n, r.category or "", r.device_type or "")):
        if row.level == OVERALL:
            total = row.n
        elif row.level == BY_CATEGORY:
            by_category.append(CountByCategory(category=row.category, count=row.n))
        elif row.level == BY_TYPE:
            by_type.append(CountByDeviceType(device_type=DeviceType(row.device_type), count=row.n))
        elif row.level == BY_BUCKET:
            per_bucket[row.starts_on].total = row.n
        elif row.level == BY_BUCKET_CATEGORY:
            per_bucket[row.starts_on].by_category.append(CountByCategory(category=row.category, count=row.n))
        elif row.level == BY_BUCKET_TYPE:
            per_bucket[row.starts_on].by_device_type.append(
                CountByDeviceType(device_type=DeviceType(row.device_type), count=row.n)
            )

    repaired = (
        select(
            func.count().label("n"),
            func.avg(extract("epoch", col(Repair.closed_at) - col(Repair.opened_at))).label("seconds"),
        )
        .join(Device, col(Device.id) == col(Repair.device_id))
        .where(col(Repair.closed_at) >= lower, col(Repair.closed_at) < upper, visible_to(principal))
    )
    closed = (await session.execute(repaired)).one()

    repeats = (
        select(col(Device.id), col(Device.asset_tag), col(Device.device_type), func.count().label("n"))
        .join(Repair, col(Repair.device_id) == col(Device.id))
        .where(col(Repair.opened_at) >= lower, col(Repair.opened_at) < upper, visible_to(principal))
        .group_by(col(Device.id))
        .having(func.count() >= REPEATED_FAULT_REPAIRS)
        .order_by(func.count().desc(), col(Device.asset_tag))
        .limit(REPEATED_FAULTS_SHOWN)
    )
    repeated = [
        RepeatedFault(
            device_id=r.id, asset_tag=r.asset_tag, device_type=DeviceType(r.device_type), repairs=r.n
        )
        for r in (await session.execute(repeats)).all()
    ]

    return AbnormalityStats(
        from_=start,
        to=end,
        bucket=bucket,
        total=total,
        by_category=by_category,
        by_device_type=by_type,
        buckets=list(per_bucket.values()),
        repairs_closed=closed.n,
        mean_time_to_repair_hours=round(float(closed.seconds) / 3600, 2)
        if closed.seconds is not None
        else None,
        repeated_faults=repeated,
    )


async def work_list(
    *, session: AsyncSession, clock: BusinessClock, principal: Principal, limit: int
) -> WorkList:
    """The caller's devices due a check today and those overdue for maintenance, each with a count."""
    today = clock.today()
    lists = {}
    for name in ("checks_due_today", "maintenance_overdue"):
        devices, count = await repository.work_list(
            session=session, principal=principal, name=name, on=today, limit=limit
        )
        repairs = await repository.open_repairs(session=session, devices=devices)
        items = [service.to_read(device, today=today, repairs=repairs) for device in devices]
        lists[name] = DueList(count=count, items=items)
    return WorkList(on=today, **lists)
