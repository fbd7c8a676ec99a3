"""The gateway's compliance view: a thin handler over the fan-out (its own module, beside router.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from crmkit.auth import Role
from crmkit.clock import BusinessClock
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_RESPONSES, Forbidden
from gateway.views.caller import CallerDep
from gateway.views.compliance import build_findings, findings_csv
from gateway.views.compliance_schemas import ComplianceFindings
from gateway.views.router import UNAVAILABLE, SettingsDep, fan_out_for

router = APIRouter(prefix="/api/v1", tags=["compliance"], responses={**PROBLEM_RESPONSES, **UNAVAILABLE})

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The findings; as CSV (`agent_id,finding,subject_id,client_id,on,detail`) with "
        "`Accept: text/csv`.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/compliance/findings", responses=CSV_RESPONSE, response_model=ComplianceFindings)
async def compliance_findings(
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> Any:
    """Per agent, for your team (team leads) or everyone (admins): accepted plans that overrode a
    plan rule and why, failed or missing return visits, sales missing traceability, misleading-sales
    complaints, consent withdrawals that hit open work. CSV with `Accept: text/csv`; at most 366
    days; partial when a service fails or times out. Agents: 403."""
    if caller.principal.role not in (Role.TEAM_LEAD, Role.ADMIN):
        raise Forbidden("the compliance view is for team leads and admins")
    first, last = period(from_date, to_date, today=BusinessClock(settings.zone).today())
    view = await build_findings(
        fan_out=fan_out_for(request, settings, caller.authorization),
        principal=caller.principal,
        first=first,
        last=last,
    )
    if "text/csv" in request.headers.get("accept", ""):
        filename = f"compliance-findings-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            findings_csv(view),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return view
