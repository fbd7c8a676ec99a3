"""Greeting endpoints of a client: send (gated by the marketing consent) and list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from crmkit.auth import Role, require_roles
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from services.clients.dependencies import ChangedClient, SessionDep, ValidClient, WriterDep
from services.clients.greetings import service
from services.clients.greetings.schemas import GreetingCreate, GreetingRead

CONSENT_REQUIRED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "No active marketing consent"}
}

router = APIRouter(
    prefix="/api/v1/clients/{client_id:uuid}",
    tags=["greetings"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.post("/greetings", status_code=status.HTTP_201_CREATED, responses=CONSENT_REQUIRED)
async def send_greeting(
    client: ChangedClient, data: GreetingCreate, principal: WriterDep, session: SessionDep, response: Response
) -> GreetingRead:
    """Record a greeting, event invitation or other message sent to the client; 409
    `consent-required` without their active `marketing` consent."""
    greeting = await service.send_greeting(session=session, principal=principal, client=client, data=data)
    response.headers["Location"] = f"/api/v1/clients/{client.id}/greetings"
    return service.to_read(greeting)


@router.get("/greetings")
async def list_greetings(
    client: ValidClient, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[GreetingRead]:
    """The greetings sent to the client, newest first."""
    return await service.greetings_of(session=session, client=client, cursor=cursor, limit=limit)
