"""The compliance view (manual 六): per agent, overrides of the plan rules, failed or missing return
visits, sales missing traceability, misleading-sales complaints and consent withdrawals that hit
open work. Each service scopes its part by the caller's token (team lead: the team; admin: all).
As CSV, one row per finding: ``agent_id, finding, subject_id, client_id, on, detail``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from crmkit import csv
from crmkit.auth import Principal, Role
from gateway.views.compliance_schemas import CLIENTS, POLICIES, AgentFindings, ComplianceFindings
from gateway.views.fanout import FanOut, Upstream, require_any

CSV_COLUMNS = ("agent_id", "finding", "subject_id", "client_id", "on", "detail")
SECTIONS: tuple[tuple[str, str, str], ...] = (
    # (AgentFindings field, subject id key, date key)
    ("plan_overrides", "proposal_id", "accepted_on"),
    ("return_visits", "policy_id", "on"),
    ("missing_traceability", "application_id", "applied_on"),
    ("misleading_sales_complaints", "complaint_id", "received_at"),
    ("consent_withdrawals_with_open_work", "application_id", "raised_at"),
)


async def build_findings(
    *, fan_out: FanOut, principal: Principal, first: date, last: date
) -> ComplianceFindings:
    period = {"from": first, "to": last}

    async def policies(up: Upstream) -> Any:
        return await up.get(POLICIES, period)

    async def clients(up: Upstream) -> Any:
        return await up.get(CLIENTS, period)

    results, sources = await fan_out.run({"policies": policies, "clients": clients})
    require_any(sources)
    agents: dict[uuid.UUID, AgentFindings] = {}

    def add(field: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            agent = uuid.UUID(str(row["owner_agent_id"]))
            found = agents.setdefault(agent, AgentFindings(agent_id=agent))
            getattr(found, field).append(row)

    part = results.get("policies")
    if part is not None:
        add("plan_overrides", part["overrides"])
        add("return_visits", part["return_visits"])
        add("missing_traceability", part["missing_traceability"])
        add("consent_withdrawals_with_open_work", part["consent_holds"])
    part = results.get("clients")
    if part is not None:
        add("misleading_sales_complaints", part["misleading_sales_complaints"])
    team = principal.role is Role.TEAM_LEAD
    return ComplianceFindings(
        from_date=first,
        to_date=last,
        scope="team" if team else "all",
        team_id=principal.team_id if team else None,
        partial=any(not s.ok for s in sources),
        sources=sources,
        agents=sorted(agents.values(), key=lambda a: str(a.agent_id)),
    )


def findings_csv(view: ComplianceFindings) -> bytes:
    """One row per finding; a failed service is one `unavailable` row."""
    rows: list[tuple[Any, ...]] = [
        ("", "unavailable", s.service, "", "", s.status.value) for s in view.sources if not s.ok
    ]
    for agent in view.agents:
        for field, subject, on in SECTIONS:
            for row in getattr(agent, field):
                rows.append(
                    (
                        agent.agent_id,
                        field,
                        row.get(subject),
                        row.get("client_id"),
                        row.get(on),
                        _detail(field, row),
                    )
                )
    return csv.document(CSV_COLUMNS, rows)


def _detail(field: str, row: dict[str, Any]) -> str:
    if field == "plan_overrides":
        return "; ".join(f"{c['finding_code']}: {c['reason']}" for c in row.get("choices", []))
    if field == "return_visits":
        return f"{row.get('outcome')}: {', '.join(row.get('reasons', []))}"
    if field == "missing_traceability":
        return ", ".join(row.get("reasons", []))
    if field == "misleading_sales_complaints":
        return str(row.get("status", ""))
    return f"{row.get('purpose')} withdrawn; application {row.get('application_status')}"
