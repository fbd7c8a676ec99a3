"""Underwriting requirements (人工核保: 体检报告、就诊记录...): each with a due date and a status."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.workflow import ensure_transition
from services.policies.applications import service
from services.policies.applications.schemas import RequirementCreate, RequirementResolve
from services.policies.errors import InvalidField, RequirementNotFound, RuleConflict
from services.policies.issued import service as policies
from services.policies.models import Application, UnderwritingRequirement
from services.policies.tools import Tools
from services.policies.transitions import APPLICATION_TRANSITIONS


async def add_requirement(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    application: Application,
    data: RequirementCreate,
) -> Application:
    """The underwriter asks for a document; the application waits for it (requirements pending)."""
    if application.status != "requirements_pending":
        ensure_transition(
            APPLICATION_TRANSITIONS,
            resource=service.RESOURCE,
            current=application.status,
            requested="requirements_pending",
        )
    if data.due_on < tools.clock.today():
        raise InvalidField("due_on", "a requirement's due date cannot be in the past")
    before = service.view(application)
    session.add(
        UnderwritingRequirement(
            application_id=application.id,
            owner_agent_id=application.owner_agent_id,
            team_id=application.team_id,
            kind=data.kind.value,
            description=data.description,
            due_on=data.due_on,
            status="pending",
            created_at=utc_now(),
        )
    )
    application.status = "requirements_pending"
    return await service.record_change(
        session, principal, application, "application.requirement_added", before
    )


async def resolve_requirement(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    application: Application,
    requirement_id: uuid.UUID,
    data: RequirementResolve,
) -> Application:
    """A requirement was received from the client (or waived by the insurer)."""
    requirement = await session.get(UnderwritingRequirement, requirement_id, with_for_update=True)
    if requirement is None or requirement.application_id != application.id:
        raise RequirementNotFound()
    if requirement.status != "pending":
        raise RuleConflict(f"this requirement is already {requirement.status}")
    policies.not_future("resolved_on", data.resolved_on, tools.clock.today())
    before = service.view(application)
    requirement.status = data.status.value
    requirement.resolved_on = data.resolved_on
    return await service.record_change(
        session, principal, application, f"application.requirement_{data.status.value}", before
    )
