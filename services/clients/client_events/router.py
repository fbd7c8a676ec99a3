"""Client event endpoints (``/api/v1/clients/client-events``) and a client's referrals."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from crmkit.auth import Role, require_roles
from crmkit.concurrency import set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.client_events import service
from services.clients.client_events.schemas import (
    AcquisitionRead,
    AcquisitionWrite,
    AttendanceWrite,
    ClientEventCreate,
    ClientEventPage,
    ClientEventRead,
    ClientEventReport,
    InvitationCreate,
    InvitationPage,
    InvitationRead,
    ReferralPage,
    RsvpWrite,
)
from services.clients.dependencies import ReaderDep, SessionDep, ValidClient, WriterDep

EVENTS = "/api/v1/clients/client-events"
router = APIRouter(
    tags=["client events"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
EventId = Annotated[uuid.UUID, Path(description="The client event's id.")]
InvitationId = Annotated[uuid.UUID, Path(description="The invitation's id.")]


@router.post(EVENTS, status_code=status.HTTP_201_CREATED)
async def schedule_event(
    data: ClientEventCreate, principal: WriterDep, session: SessionDep, response: Response
) -> ClientEventRead:
    """Schedule a client event: a health talk, legal consultation, product briefing or community event."""
    event = await service.schedule(session=session, principal=principal, data=data)
    response.headers["Location"] = f"{EVENTS}/{event.id}"
    set_etag(response, event.version)
    return service.to_read(event)


@router.get(EVENTS)
async def list_events(
    principal: ReaderDep, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ClientEventPage:
    """Client events in your scope, latest first."""
    events = await service.list_events(session=session, principal=principal, limit=limit)
    return ClientEventPage(items=[service.to_read(e) for e in events])


@router.get(f"{EVENTS}/{{event_id}}")
async def read_event(event_id: EventId, principal: ReaderDep, session: SessionDep) -> ClientEventRead:
    """One client event."""
    return service.to_read(await service.get_event(session=session, principal=principal, event_id=event_id))


@router.post(f"{EVENTS}/{{event_id}}/invitations", status_code=status.HTTP_201_CREATED)
async def invite(
    event_id: EventId, data: InvitationCreate, principal: WriterDep, session: SessionDep, response: Response
) -> InvitationRead:
    """Invite a client; only with their marketing consent active (409 otherwise)."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    row = await service.invite(session=session, principal=principal, event=event, client_id=data.client_id)
    response.headers["Location"] = f"{EVENTS}/{event.id}/invitations/{row.id}"
    return service.invitation_read(row)


@router.get(f"{EVENTS}/{{event_id}}/invitations/{{invitation_id}}")
async def read_invitation(
    event_id: EventId, invitation_id: InvitationId, principal: ReaderDep, session: SessionDep
) -> InvitationRead:
    """One invitation, with the reply and whether the client came."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    return service.invitation_read(
        await service.invitation_of(session=session, event=event, invitation_id=invitation_id)
    )


@router.get(f"{EVENTS}/{{event_id}}/invitations")
async def list_invitations(event_id: EventId, principal: ReaderDep, session: SessionDep) -> InvitationPage:
    """Everyone invited, with their reply and whether they came."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    rows = await service.invitations_of(session=session, event=event)
    return InvitationPage(items=[service.invitation_read(r) for r in rows])


@router.post(f"{EVENTS}/{{event_id}}/invitations/{{invitation_id}}/rsvp")
async def rsvp(
    event_id: EventId, invitation_id: InvitationId, data: RsvpWrite, principal: WriterDep, session: SessionDep
) -> InvitationRead:
    """Record the client's reply; accepting past the event's capacity is 409."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id, for_update=True)
    row = await service.answer(
        session=session, principal=principal, event=event, invitation_id=invitation_id, response=data.response
    )
    return service.invitation_read(row)


@router.post(f"{EVENTS}/{{event_id}}/attendance")
async def record_attendance(
    event_id: EventId, data: AttendanceWrite, principal: WriterDep, session: SessionDep
) -> InvitationRead:
    """Record that an invited client came (someone not invited is 422; past capacity 409)."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id, for_update=True)
    row = await service.attend(session=session, principal=principal, event=event, client_id=data.client_id)
    return service.invitation_read(row)


@router.post(f"{EVENTS}/{{event_id}}/acquisitions", status_code=status.HTTP_201_CREATED)
async def record_acquisition(
    event_id: EventId, data: AcquisitionWrite, principal: WriterDep, session: SessionDep, response: Response
) -> AcquisitionRead:
    """Attribute a client to the event: met there, or referred there by someone who came."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    acquired = await service.acquire(
        session=session, principal=principal, event=event, client_id=data.client_id
    )
    response.headers["Location"] = f"{EVENTS}/{event.id}/acquisitions/{acquired.client_id}"
    return acquired


@router.get(f"{EVENTS}/{{event_id}}/acquisitions/{{client_id}}")
async def read_acquisition(
    event_id: EventId, client_id: Annotated[uuid.UUID, Path()], principal: ReaderDep, session: SessionDep
) -> AcquisitionRead:
    """A client acquired at the event, and whether as a referral made there."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    return await service.acquisition_of(session=session, event=event, client_id=client_id)


@router.get(f"{EVENTS}/{{event_id}}/report")
async def event_report(event_id: EventId, principal: ReaderDep, session: SessionDep) -> ClientEventReport:
    """Invited, replies, attended, new clients and referrals made there."""
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    return await service.report(session=session, event=event)


@router.get("/api/v1/clients/{client_id:uuid}/referrals")
async def referrals(
    client: ValidClient,
    principal: ReaderDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ReferralPage:
    """The clients this client referred, oldest first, and what they became (their tier).

    Paged with `limit` and `cursor` (`next_cursor` of the previous page); `count` and `tiers` are
    the totals of every page."""
    return await service.referrals_of(
        session=session, principal=principal, client=client, cursor=cursor, limit=limit
    )
