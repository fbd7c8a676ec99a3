"""Demo data stage: devices, a week of checks, one out of service (the devices service).

Loaded by ``launcher.demo_data.load`` after the users and clients exist; idempotent like the rest
(look up before creating, so a second ``make run`` creates nothing twice). Everything is done as the
ops user 赵敏 through the gateway; past checks are entered with ``checked_at`` (late entry from the
paper log, allowed up to 7 days back).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import httpx

    from launcher.demo_data import DemoContext

DEVICES = "/api/v1/devices"
ZONE = ZoneInfo("Asia/Shanghai")
OFFICE = "浦东办公室"
CATEGORIES = (
    "noise_vibration",
    "display",
    "input_output",
    "system_software",
    "network",
    "power_supply",
    "temperature",
    "maintenance",
)
CHECK_TIME = time(8, 45)  # before work, as procedure §二.2 asks


@dataclass(frozen=True)
class DemoDevice:
    asset_tag: str
    device_type: str
    model: str
    holder: str | None  # DemoUser.key
    location: str | None
    interval_days: int
    maintained_days_ago: int | None
    # days ago → abnormal findings {category: note}; days not listed get an all-good check
    faults: dict[int, dict[str, str]] = field(default_factory=dict)
    checked_days_ago: tuple[int, ...] = (6, 5, 4, 3, 2, 1, 0)
    repair_done: str | None = None  # close the repair (after starting it) and check again today


DEMO_DEVICES = (
    DemoDevice("PD-PC-001", "computer", "联想 ThinkPad T14", "wang", OFFICE, 180, 30),
    # Not checked yet today: it shows on 王芳's pre-work list.
    DemoDevice(
        "PD-PH-001", "phone", "华为 Mate 60", "wang", None, 365, 90, checked_days_ago=(6, 5, 4, 3, 2, 1)
    ),
    DemoDevice("PD-PC-002", "computer", "戴尔 Latitude 5440", "li", OFFICE, 180, 60),
    # The shared printer jammed yesterday: out of service, its repair still open.
    DemoDevice(
        "PD-PR-001",
        "printer",
        "惠普 LaserJet Pro M404",
        None,
        OFFICE,
        90,
        20,
        faults={1: {"input_output": "频繁卡纸,进纸器无法正常工作"}},
        checked_days_ago=(6, 5, 4, 3, 2, 1),
    ),
    # The router dropped the network five days ago; repaired and back in service today.
    # Its maintenance is overdue (last done 200 days ago, every 180 days).
    DemoDevice(
        "PD-NW-001",
        "network_equipment",
        "华为 AR161 路由器",
        None,
        OFFICE,
        180,
        200,
        faults={5: {"network": "上午多次断网,延迟超过 500 毫秒"}},
        checked_days_ago=(6, 5),
        repair_done="更换老化网线,升级路由器固件",
    ),
)


def _items(ctx: DemoContext, path: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    query = {**(params or {}), "limit": "200"}
    while True:
        response = ctx.http.get(path, params=query, headers=ctx.auth("ops"))
        _expect(response, 200, f"GET {path}")
        page = response.json()
        yield from page["items"]
        if not page.get("next_cursor"):
            return
        query["cursor"] = page["next_cursor"]


def _expect(response: httpx.Response, status: int, doing: str) -> None:
    if response.status_code != status:
        from launcher.demo_data import DemoDataError

        raise DemoDataError(f"{doing}: HTTP {response.status_code} {response.text[:500]}")


def _ensure_device(
    ctx: DemoContext, spec: DemoDevice, existing: dict[str, dict[str, Any]], today: date
) -> str:
    found = existing.get(spec.asset_tag)
    if found is not None:
        ctx.report.note(False, f"device {spec.asset_tag}")
        return str(found["id"])
    body: dict[str, Any] = {
        "device_type": spec.device_type,
        "asset_tag": spec.asset_tag,
        "model": spec.model,
        "holder_id": ctx.user_ids[spec.holder] if spec.holder else None,
        "location": spec.location,
        "maintenance_interval_days": spec.interval_days,
    }
    if spec.maintained_days_ago is not None:
        body["last_maintained_on"] = (today - timedelta(days=spec.maintained_days_ago)).isoformat()
    response = ctx.http.post(DEVICES, json=body, headers=ctx.auth("ops"))
    _expect(response, 201, f"register device {spec.asset_tag}")
    ctx.report.note(True, f"device {spec.asset_tag}")
    return str(response.json()["id"])


def _check(
    ctx: DemoContext, device_id: str, abnormal: dict[str, str], done: datetime | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "findings": [
            {"category": c, "result": "abnormal" if c in abnormal else "good", "note": abnormal.get(c)}
            for c in CATEGORIES
        ]
    }
    if done is not None:
        body["checked_at"] = done.isoformat()
    response = ctx.http.post(f"{DEVICES}/{device_id}/checks", json=body, headers=ctx.auth("ops"))
    _expect(response, 201, f"check device {device_id}")
    recorded: dict[str, Any] = response.json()
    return recorded


def _repair(ctx: DemoContext, repair_id: str, resolution: str) -> None:
    """Start and close a repair (each step only if not yet done)."""
    url = f"{DEVICES}/repairs/{repair_id}"
    response = ctx.http.get(url, headers=ctx.auth("ops"))
    _expect(response, 200, f"GET {url}")
    repair = response.json()
    for step, when, body in (
        ("start", "open", None),
        ("close", "in_progress", {"resolution": resolution}),
    ):
        if repair["status"] != when:
            continue
        headers = {**ctx.auth("ops"), "If-Match": f'W/"{repair["version"]}"'}
        response = ctx.http.post(f"{url}/{step}", json=body, headers=headers)
        _expect(response, 200, f"{step} repair {repair_id}")
        repair = response.json()


def load(ctx: DemoContext) -> None:
    """Five devices of team 浦东一组, a week of pre-work checks, the printer out of service."""
    today = datetime.now(ZONE).date()
    existing = {d["asset_tag"]: d for d in _items(ctx, DEVICES)}
    ids: dict[str, str] = {}
    for spec in DEMO_DEVICES:
        device_id = ids[spec.asset_tag] = _ensure_device(ctx, spec, existing, today)
        checked = {c["checked_on"] for c in _items(ctx, f"{DEVICES}/{device_id}/checks")}
        for days_ago in sorted(spec.checked_days_ago, reverse=True):
            day = today - timedelta(days=days_ago)
            if day.isoformat() in checked:
                continue
            done = datetime.combine(day, CHECK_TIME, ZONE)
            _check(ctx, device_id, spec.faults.get(days_ago, {}), done if days_ago else None)
            ctx.report.note(True, f"check of {spec.asset_tag} on {day.isoformat()}")
        if spec.repair_done:
            device = ctx.http.get(f"{DEVICES}/{device_id}", headers=ctx.auth("ops")).json()
            if device["open_repair_id"]:
                _repair(ctx, str(device["open_repair_id"]), spec.repair_done)
                ctx.report.note(True, f"repair of {spec.asset_tag}")
            if device["status"] != "in_service" and today.isoformat() not in checked:
                _check(ctx, device_id, {}, None)
                ctx.report.note(True, f"check of {spec.asset_tag} after its repair")
    ctx.shared["device_ids"] = ids
