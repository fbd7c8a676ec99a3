"""HTTP endpoints of the policies service's compliance evidence (manual 六)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from crmkit.auth import Role, require_roles
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from services.policies.compliance import service
from services.policies.compliance.schemas import ConsentWithdrawn, HoldsRaised, PoliciesComplianceFindings
from services.policies.dependencies import DirectoryDep, ReaderDep, SessionDep, ToolsDep, WriterDep

BASE = "/api/v1/policies"
STILL_CONSENTED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "The consent is still active"}
}

router = APIRouter(
    prefix=BASE,
    tags=["compliance"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
leads_router = APIRouter(
    prefix=BASE,
    tags=["compliance"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.post("/consent-holds", responses=STILL_CONSENTED)
async def hold_open_work(
    data: ConsentWithdrawn, principal: WriterDep, session: SessionDep, directory: DirectoryDep
) -> HoldsRaised:
    """A client withdrew a consent: flag their open applications that depend on it (the clients
    service calls this on the withdrawing user's behalf; 409 while the consent is still active)."""
    held = await service.hold_open_work(session=session, principal=principal, directory=directory, data=data)
    return HoldsRaised(held=held)


@leads_router.get("/compliance/findings")
async def compliance_findings(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> PoliciesComplianceFindings:
    """Accepted plans with overrides and their reasons, sales missing traceability, consent holds,
    failed or missing return visits: your team's (team leads) or everyone's (admins)."""
    first, last = period(from_date, to_date, today=tools.clock.today())
    return await service.findings(
        session=session, principal=principal, clock=tools.clock, first=first, last=last
    )
