"""HTTP endpoints of the client record, the agent's agenda lists and the business report: thin handlers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crmkit.auth import Role, require_roles
from crmkit.clock import IsoDate
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.db import read_connection
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep, replica_connection
from crmkit.responses import model_json
from services.clients import agenda, reports, repository, service
from services.clients.dependencies import (
    ChangedClient,
    ClientId,
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ToolsDep,
    WriterDep,
)
from services.clients.errors import ClientNotFound
from services.clients.identity_documents import IdentityDocumentType
from services.clients.repository import ClientFilters
from services.clients.schemas import (
    AgendaLists,
    Channel,
    ClientCreate,
    ClientPage,
    ClientRead,
    ClientSort,
    ClientsReport,
    ClientUpdate,
    MobilePhone,
    ResidentId,
    Tier,
)

BASE = "/api/v1/clients"

# Operations staff have no business with client data: every endpoint answers them 403 (roles are
# not secret, and the answer does not depend on the id, so nothing can be probed).
router = APIRouter(
    prefix=BASE,
    tags=["clients"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
agenda_router = APIRouter(
    prefix=BASE,
    tags=["interactions"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
# Agents have no business report (403: roles are not secret); team leads see their team, admins everyone.
reports_router = APIRouter(
    prefix=f"{BASE}/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientRead)
async def create_client(
    data: ClientCreate, principal: WriterDep, session: SessionDep, tools: ToolsDep
) -> Response:
    """Create a client owned by the caller (send an Idempotency-Key to retry safely)."""
    client = await service.create_client(session=session, tools=tools, principal=principal, data=data)
    answer = model_json(client, status_code=status.HTTP_201_CREATED)
    answer.headers["Location"] = f"{BASE}/{client.id}"
    set_etag(answer, client.version)
    return answer


@router.get("", response_model=ClientPage)
async def list_clients(
    request: Request,
    principal: ReaderDep,
    tools: ToolsDep,
    owner_agent_id: uuid.UUID | None = None,
    tier: Tier | None = None,
    channel: Channel | None = None,
    name_prefix: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Case-insensitive name prefix.")
    ] = None,
    phone: Annotated[MobilePhone | None, Query(description="Exact mobile number, any common format.")] = None,
    id_document_number: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            description="Exact identity document number, checked by the rule of `id_document_type`.",
        ),
    ] = None,
    id_document_type: Annotated[
        IdentityDocumentType | None, Query(description="The number's type (default `resident_id`).")
    ] = None,
    id_document_country: Annotated[
        str | None, Query(min_length=2, max_length=3, description="A passport's issuing country.")
    ] = None,
    resident_id: Annotated[
        ResidentId | None, Query(description="Deprecated: `id_document_number` of type `resident_id`.")
    ] = None,
    follow_up_due_by: Annotated[
        IsoDate | None, Query(description="Only clients whose next follow-up is due on or before this date.")
    ] = None,
    sort: Annotated[
        ClientSort, Query(description="`recent` (newest first), `tier` (A first), `follow_up` (soonest).")
    ] = ClientSort.RECENT,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    """Search the clients you can see; every filter combines with the others and with cursor pages."""
    filters = ClientFilters(
        owner_agent_id=owner_agent_id,
        tier=tier.value if tier else None,
        channel=channel.value if channel else None,
        name_prefix=name_prefix,
        follow_up_due_by=follow_up_due_by,
        phone_hmac=service.search_hash(tools, "phone", phone),
        resident_id_hmac=service.search_document_hash(
            tools,
            kind=id_document_type,
            number=id_document_number,
            country=id_document_country,
            resident_id=resident_id,
        ),
    )
    # The response model's bytes, written from the rows (``pages``): ``response_model`` stays for the schema.
    # A heavy read (the replica when there is one), on a bare connection: nothing but rows to show.
    async with replica_connection(request, principal) as connection:
        page = await service.list_clients_json(
            connection=connection, principal=principal, filters=filters, sort=sort, limit=limit, cursor=cursor
        )
    return Response(page, media_type="application/json")


@router.get("/{client_id:uuid}", response_model=ClientRead)
async def get_client(client_id: ClientId, principal: ReaderDep, request: Request) -> Response:
    """Read one client (personal fields masked); the ETag is its version."""
    # A pooled connection without a session, the answer serialised once: the hottest read.
    async with read_connection(request) as connection:
        client = await repository.read_visible(
            connection=connection, principal=principal, client_id=client_id
        )
    if client is None:
        raise ClientNotFound()
    answer = model_json(service.to_read(client))
    set_etag(answer, client.version)
    return answer


@router.patch("/{client_id:uuid}")
async def update_client(
    client: ChangedClient,
    patch: ClientUpdate,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ClientRead:
    """Change some fields, or reassign the owner (admins, team leads); requires If-Match."""
    check_if_match(if_match, client.version)
    client = await service.update_client(
        session=session, tools=tools, principal=principal, directory=directory, client=client, patch=patch
    )
    set_etag(response, client.version)
    return service.to_read(client)


@router.delete("/{client_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_client(
    client: ChangedClient, principal: WriterDep, session: SessionDep, if_match: IfMatchHeader = None
) -> Response:
    """Soft-delete a client; requires If-Match."""
    check_if_match(if_match, client.version)
    await service.delete_client(session=session, principal=principal, client=client)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@agenda_router.get("/agenda-lists")
async def list_agenda_lists(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    day: Annotated[IsoDate | None, Query(alias="date", description="The day (default: today).")] = None,
    within_days: Annotated[int, Query(ge=0, le=366, description="Days of birthdays and events.")] = 7,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AgendaLists:
    """The three lists at once, the first page of each, soonest first (what the agenda shows)."""
    return await agenda.agenda_lists(
        session=session,
        principal=principal,
        tools=tools,
        day=day or tools.clock.today(),
        within_days=within_days,
        limit=limit,
    )


@reports_router.get("/business", response_model_by_alias=True)
async def business_report(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> ClientsReport:
    """New clients by channel and tier, tier movements and complaints by status, for your team."""
    first, last = period(from_date, to_date, today=tools.clock.today())
    return await reports.business_report(
        session=session, principal=principal, clock=tools.clock, first=first, last=last
    )
