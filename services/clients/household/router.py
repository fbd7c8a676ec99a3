"""Household endpoints: finances (one document per client) and family members."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.dependencies import ChangedClient, SessionDep, ToolsDep, ValidClient, WriterDep
from services.clients.household import service
from services.clients.household.schemas import (
    FamilyMemberCreate,
    FamilyMemberRead,
    FamilyMemberUpdate,
    HouseholdFinances,
    HouseholdRead,
)
from services.clients.models import FamilyMember
from services.clients.repository import child_of

BASE = "/api/v1/clients/{client_id:uuid}"
router = APIRouter(
    prefix=BASE,
    tags=["household"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
MemberId = Annotated[uuid.UUID, Path(description="The family member's id.")]


@router.get("/household")
async def get_household(
    client: ValidClient, session: SessionDep, tools: ToolsDep, response: Response
) -> HouseholdRead:
    """The household: finances, derived totals and family members; ETag is the finances' version."""
    household = await service.finances_of(session=session, client_id=client.id)
    read = await service.household_view(
        session=session, client=client, household=household, today=tools.clock.today()
    )
    set_etag(response, read.version)
    return read


@router.put("/household")
async def save_household(
    client: ChangedClient,
    data: HouseholdFinances,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> HouseholdRead:
    """Replace the household finances; If-Match required (`W/"0"` before the first save)."""
    current = await service.finances_of(session=session, client_id=client.id)
    check_if_match(if_match, current.version if current else 0)
    household = await service.save_finances(session=session, principal=principal, client=client, data=data)
    read = await service.household_view(
        session=session, client=client, household=household, today=tools.clock.today()
    )
    set_etag(response, read.version)
    return read


@router.post("/family-members", status_code=status.HTTP_201_CREATED)
async def add_family_member(
    client: ChangedClient,
    data: FamilyMemberCreate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
) -> FamilyMemberRead:
    """Add a family member (send an Idempotency-Key to retry safely)."""
    member = await service.add_member(
        session=session, principal=principal, tools=tools, client=client, data=data
    )
    response.headers["Location"] = f"/api/v1/clients/{client.id}/family-members/{member.id}"
    set_etag(response, member.version)
    return service.member_to_read(member, tools.clock.today())


@router.get("/family-members")
async def list_family_members(
    client: ValidClient,
    session: SessionDep,
    tools: ToolsDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[FamilyMemberRead]:
    """The client's family members, newest first."""
    return await service.members_page(
        session=session, client=client, cursor=cursor, limit=limit, today=tools.clock.today()
    )


@router.get("/family-members/{member_id:uuid}")
async def get_family_member(
    client: ValidClient, member_id: MemberId, session: SessionDep, tools: ToolsDep, response: Response
) -> FamilyMemberRead:
    """One family member."""
    member = await child_of(
        session=session, model=FamilyMember, row_id=member_id, client_id=client.id, what="family member"
    )
    set_etag(response, member.version)
    return service.member_to_read(member, tools.clock.today())


@router.patch("/family-members/{member_id:uuid}")
async def update_family_member(
    client: ChangedClient,
    member_id: MemberId,
    patch: FamilyMemberUpdate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> FamilyMemberRead:
    """Change a family member; requires If-Match."""
    member = await child_of(
        session=session, model=FamilyMember, row_id=member_id, client_id=client.id, what="family member"
    )
    check_if_match(if_match, member.version)
    member = await service.update_member(
        session=session, principal=principal, tools=tools, client=client, member=member, patch=patch
    )
    set_etag(response, member.version)
    return service.member_to_read(member, tools.clock.today())


@router.delete("/family-members/{member_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_family_member(
    client: ChangedClient,
    member_id: MemberId,
    principal: WriterDep,
    session: SessionDep,
    if_match: IfMatchHeader = None,
) -> Response:
    """Remove a family member; requires If-Match."""
    member = await child_of(
        session=session, model=FamilyMember, row_id=member_id, client_id=client.id, what="family member"
    )
    check_if_match(if_match, member.version)
    await service.remove_member(session=session, principal=principal, member=member)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
