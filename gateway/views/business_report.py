"""The team lead's business report (procedure step 11): every service's part for a period, at once.

Each service scopes its part by the caller's token (team lead: the team; admin: everyone). As
CSV, the report is flat rows of ``section, metric, key, value``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from crmkit import csv
from crmkit.auth import Principal, Role
from gateway.views.fanout import FanOut, Upstream, require_any
from gateway.views.schemas import BusinessReport

CSV_COLUMNS = ("section", "metric", "key", "value")
PARTS = ("clients", "policies", "claims", "devices")
AGENT_FIGURES = ("actual", "goal")
PERIOD = frozenset({"from", "to"})


async def build_report(*, fan_out: FanOut, principal: Principal, first: date, last: date) -> BusinessReport:
    """Clients, policies, claims and devices asked at once for the period."""
    period = {"from": first, "to": last}

    async def from_service(up: Upstream) -> Any:
        # As the service answers (its period included), so the part has the service's published schema.
        return await up.get(f"/api/v1/{up.service}/reports/business", period)

    async def devices(up: Upstream) -> dict[str, Any]:
        stats = await up.get("/api/v1/devices/stats/abnormalities", {**period, "bucket": "month"})
        return {
            "abnormalities": stats["total"],
            "abnormalities_by_category": [
                {"key": c["category"], "count": c["count"]} for c in stats["by_category"]
            ],
            "abnormalities_by_device_type": [
                {"key": t["device_type"], "count": t["count"]} for t in stats["by_device_type"]
            ],
            "repairs_closed": stats["repairs_closed"],
            "mean_time_to_repair_hours": stats["mean_time_to_repair_hours"],
        }

    results, sources = await fan_out.run(
        {
            "clients": from_service,
            "policies": from_service,
            "claims": from_service,
            "devices": devices,
            # One row per agent against their goals, with the agent's progress note (issue 19 item 4).
            "performance": from_service,
        }
    )
    require_any(sources)
    team = principal.role is Role.TEAM_LEAD
    return BusinessReport(
        from_date=first,
        to_date=last,
        scope="team" if team else "all",
        team_id=principal.team_id if team else None,
        partial=any(not s.ok for s in sources),
        sources=sources,
        **results,
    )


def report_csv(report: BusinessReport) -> bytes:
    """Flat rows (section, metric, key, value); a failed service's section is one `unavailable` row."""
    rows: list[tuple[Any, ...]] = [
        ("report", "period", "", f"{report.from_date.isoformat()}/{report.to_date.isoformat()}"),
        ("report", "scope", "", report.scope),
        ("report", "partial", "", report.partial),
    ]
    rows += [("sources", "status", source.service, source.status.value) for source in report.sources]
    for section in PARTS:
        part: BaseModel | dict[str, Any] | None = getattr(report, section)
        if part is None:
            rows.append((section, "unavailable", "", ""))
            continue
        values = part.model_dump() if isinstance(part, BaseModel) else part
        for metric, value in values.items():
            if metric in PERIOD:
                continue  # the report's own period row says it once
            rows += [(section, metric, key, cell) for key, cell in _cells(value)]
    rows += _agent_rows(report.performance)
    return csv.document(CSV_COLUMNS, rows)


def _agent_rows(part: dict[str, Any] | None) -> list[tuple[Any, ...]]:
    """Per agent (the key): ``actual_<figure>``, ``goal_<figure>`` and the progress note."""
    if part is None:
        return [("agents", "unavailable", "", "")]
    rows: list[tuple[Any, ...]] = []
    for agent in part.get("agents", []):
        key = agent["agent_id"]
        for kind in AGENT_FIGURES:
            figures = agent.get(kind) or {}
            rows += [("agents", f"{kind}_{name}", key, _text(value)) for name, value in figures.items()]
        note = agent.get("progress_note")
        if note is not None:
            rows.append(("agents", "progress", key, note["progress"]))
            rows.append(("agents", "lessons_learned", key, _text(note.get("lessons_learned"))))
    return rows


def _cells(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):  # e.g. the date basis of each figure: figure → date
        return [(str(k), _text(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [(_key_of(item), _text(item.get("count"))) for item in value]
    return [("", _text(value))]


def _key_of(item: dict[str, Any]) -> str:
    if "key" in item:
        return str(item["key"])
    # e.g. a tier movement: from_tier → to_tier
    return "->".join(_text(v) or "none" for k, v in item.items() if k != "count")


def _text(value: Any) -> str:
    return "" if value is None else str(value)
