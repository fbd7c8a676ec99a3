"""Needs analysis endpoints: the assessment document and the coverage gaps."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.dependencies import ChangedClient, SessionDep, ToolsDep, ValidClient, WriterDep
from services.clients.household.service import finances_of, members_of
from services.clients.needs import service
from services.clients.needs.schemas import CoverageGaps, NeedsAssessmentRead, NeedsAssessmentWrite

router = APIRouter(
    prefix="/api/v1/clients/{client_id:uuid}",
    tags=["needs analysis"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.get("/needs-assessment")
async def get_needs_assessment(
    client: ValidClient, session: SessionDep, tools: ToolsDep, response: Response
) -> NeedsAssessmentRead:
    """Family structure, occupational risk, existing cover, targets and wealth goals (version 0 if new)."""
    row = await service.assessment_of(session=session, client=client)
    members = await members_of(session=session, client_id=client.id)
    read = service.to_read(client=client, row=row, members=members, today=tools.clock.today())
    set_etag(response, read.version)
    return read


@router.put("/needs-assessment")
async def save_needs_assessment(
    client: ChangedClient,
    data: NeedsAssessmentWrite,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> NeedsAssessmentRead:
    """Replace the needs assessment; If-Match required (`W/"0"` before the first save)."""
    row = await service.assessment_of(session=session, client=client)
    check_if_match(if_match, row.version if row else 0)
    members = await members_of(session=session, client_id=client.id)
    row = await service.save(
        session=session,
        principal=principal,
        client=client,
        row=row,
        data=data,
        members=members,
        today=tools.clock.today(),
    )
    read = service.to_read(client=client, row=row, members=members, today=tools.clock.today())
    set_etag(response, read.version)
    return read


@router.get("/coverage-gaps")
async def get_coverage_gaps(client: ValidClient, session: SessionDep) -> CoverageGaps:
    """The four walls (critical illness, accident, medical, death): target, existing cover, gap."""
    row = await service.assessment_of(session=session, client=client)
    household = await finances_of(session=session, client_id=client.id)
    return service.coverage_gaps(client=client, row=row, household=household)
