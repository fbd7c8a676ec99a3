"""HTTP endpoint of the clients service's part of the compliance view (team leads and admins)."""

from __future__ import annotations

from fastapi import APIRouter

from crmkit.auth import Role, require_roles
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.compliance import service
from services.clients.compliance.schemas import ClientsComplianceFindings
from services.clients.dependencies import ReaderDep, SessionDep, ToolsDep

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["compliance"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.get("/compliance/findings")
async def compliance_findings(
    principal: ReaderDep,
    session: SessionDep,
    tools: ToolsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> ClientsComplianceFindings:
    """Complaints of misleading sales received and consents withdrawn in the period: your team's
    (team leads) or everyone's (admins)."""
    first, last = period(from_date, to_date, today=tools.clock.today())
    return await service.findings(
        session=session, principal=principal, clock=tools.clock, first=first, last=last
    )
