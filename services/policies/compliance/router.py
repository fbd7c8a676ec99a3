"""HTTP endpoints of the policies service's compliance evidence (manual 六)."""

from __future__ import annotations

from fastapi import APIRouter

from crmkit.auth import Role, require_roles
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_RESPONSES
from services.policies.compliance import service
from services.policies.compliance.schemas import ConsentWithdrawn, HoldsRaised, PoliciesComplianceFindings
from services.policies.dependencies import ReaderDep, SessionDep, ToolsDep, WriterDep

BASE = "/api/v1/policies"

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


@router.post("/consent-holds")
async def hold_open_work(data: ConsentWithdrawn, principal: WriterDep, session: SessionDep) -> HoldsRaised:
    """A client withdrew a consent: flag their open applications that depend on it (the clients
    service calls this on the withdrawing user's behalf)."""
    return HoldsRaised(held=await service.hold_open_work(session=session, principal=principal, data=data))


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
