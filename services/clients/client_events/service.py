"""Client events: scheduling, invitations (marketing consent required), RSVPs within capacity,
attendance of those invited, clients acquired there, the event report, and referral trails."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.pagination import read_cursor, trim
from crmkit.problems import NotFound
from crmkit.scope import owner_scope
from services.clients.client_events.schemas import (
    AcquisitionRead,
    ClientEventCreate,
    ClientEventRead,
    ClientEventReport,
    InvitationRead,
    Referral,
    ReferralPage,
    Rsvp,
    RsvpAnswer,
)
from services.clients.consent.schemas import ConsentPurpose
from services.clients.consent.service import has_active_consent
from services.clients.errors import (
    AlreadyDone,
    ClientEventNotFound,
    ClientNotFound,
    EventFull,
    InvalidClientField,
    NoMarketingConsent,
)
from services.clients.models import Client, ClientEvent, EventAcquisition, EventInvitation
from services.clients.repository import get_visible, live_and_visible
from services.clients.trail import record_change


def events_visible_to(principal: Principal) -> Any:
    return owner_scope(principal, owner=col(ClientEvent.owner_agent_id), team=col(ClientEvent.team_id))


def to_read(event: ClientEvent) -> ClientEventRead:
    return ClientEventRead.model_validate(event, from_attributes=True)


def invitation_read(row: EventInvitation) -> InvitationRead:
    return InvitationRead.model_validate(row, from_attributes=True)


async def get_event(
    *, session: AsyncSession, principal: Principal, event_id: uuid.UUID, for_update: bool = False
) -> ClientEvent:
    stmt = select(ClientEvent).where(col(ClientEvent.id) == event_id, events_visible_to(principal))
    if for_update:
        stmt = stmt.with_for_update()
    event = (await session.execute(stmt)).scalar_one_or_none()
    if event is None:
        raise ClientEventNotFound("no such client event")
    return event


async def schedule(*, session: AsyncSession, principal: Principal, data: ClientEventCreate) -> ClientEvent:
    now = utc_now()
    event = ClientEvent(
        owner_agent_id=principal.user_id,
        team_id=principal.team_id,
        kind=data.kind.value,
        title=data.title,
        held_on=data.held_on,
        place=data.place,
        capacity=data.capacity,
        notes=data.notes,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(event)
    await session.flush()
    await record_change(
        session,
        principal,
        action="client_event.scheduled",
        resource_type="client_event",
        resource_id=event.id,
        after=to_read(event).model_dump(mode="json"),
    )
    return event


async def list_events(*, session: AsyncSession, principal: Principal, limit: int) -> list[ClientEvent]:
    stmt = (
        select(ClientEvent)
        .where(events_visible_to(principal))
        .order_by(col(ClientEvent.held_on).desc(), col(ClientEvent.id))
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def _client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> Client:
    client = await get_visible(session=session, principal=principal, client_id=client_id)
    if client is None:
        raise ClientNotFound()
    return client


async def invite(
    *, session: AsyncSession, principal: Principal, event: ClientEvent, client_id: uuid.UUID
) -> EventInvitation:
    """An invitation is marketing: only to a client whose marketing consent is active."""
    client = await _client(session, principal, client_id)
    if not await has_active_consent(session=session, client_id=client.id, purpose=ConsentPurpose.MARKETING):
        raise NoMarketingConsent(
            "this client has not agreed to marketing (or withdrew it):"
            " record their consent before inviting them"
        )
    row = EventInvitation(
        event_id=event.id, client_id=client.id, rsvp=Rsvp.INVITED.value, invited_at=utc_now(), version=1
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyDone("this client is already invited to this event") from exc
    await _record(session, principal, "invitation.sent", row)
    return row


async def _record(session: AsyncSession, principal: Principal, action: str, row: EventInvitation) -> None:
    await record_change(
        session,
        principal,
        action=action,
        resource_type="invitation",
        resource_id=row.id,
        after=invitation_read(row).model_dump(mode="json"),
    )


async def invitations_of(*, session: AsyncSession, event: ClientEvent) -> list[EventInvitation]:
    stmt = (
        select(EventInvitation)
        .where(col(EventInvitation.event_id) == event.id)
        .order_by(col(EventInvitation.invited_at), col(EventInvitation.id))
    )
    return list((await session.execute(stmt)).scalars())


async def _count(session: AsyncSession, event: ClientEvent, *conditions: Any) -> int:
    stmt = select(func.count()).where(col(EventInvitation.event_id) == event.id, *conditions)
    return int(await session.scalar(stmt) or 0)


async def invitation_of(
    *, session: AsyncSession, event: ClientEvent, invitation_id: uuid.UUID
) -> EventInvitation:
    row = await session.get(EventInvitation, invitation_id)
    if row is None or row.event_id != event.id:
        raise NotFound("no such invitation to this event")
    return row


async def acquisition_of(
    *, session: AsyncSession, event: ClientEvent, client_id: uuid.UUID
) -> AcquisitionRead:
    row = await session.get(EventAcquisition, client_id)
    if row is None or row.event_id != event.id:
        raise NotFound("no such client acquired at this event")
    return await _acquisition_read(session, row)


async def _invitation(session: AsyncSession, event: ClientEvent, invitation_id: uuid.UUID) -> EventInvitation:
    row = await session.get(EventInvitation, invitation_id, with_for_update=True)
    if row is None or row.event_id != event.id:
        raise NotFound("no such invitation to this event")
    return row


async def answer(
    *,
    session: AsyncSession,
    principal: Principal,
    event: ClientEvent,
    invitation_id: uuid.UUID,
    response: RsvpAnswer,
) -> EventInvitation:
    """The client's reply; an acceptance past the event's capacity is refused (409)."""
    row = await _invitation(session, event, invitation_id)
    if response is RsvpAnswer.ACCEPTED and row.rsvp != Rsvp.ACCEPTED:
        accepted = await _count(session, event, col(EventInvitation.rsvp) == Rsvp.ACCEPTED.value)
        if accepted >= event.capacity:
            raise EventFull(
                f"the event is full: {accepted} of {event.capacity} places are taken",
                extra={"capacity": event.capacity, "accepted": accepted},
            )
    row.rsvp = response.value
    row.responded_at = utc_now()
    row.version += 1
    await session.flush()
    await _record(session, principal, f"invitation.{response.value}", row)
    return row


async def attend(
    *, session: AsyncSession, principal: Principal, event: ClientEvent, client_id: uuid.UUID
) -> EventInvitation:
    """Someone invited came; someone not invited is refused (422), and so is a head past capacity (409)."""
    stmt = (
        select(EventInvitation)
        .where(col(EventInvitation.event_id) == event.id, col(EventInvitation.client_id) == client_id)
        .with_for_update()
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise InvalidClientField("client_id", "this client was not invited to this event: invite them first")
    if row.attended:
        return row
    attended = await _count(session, event, col(EventInvitation.attended).is_(True))
    if attended >= event.capacity:
        raise EventFull(
            f"the event is full: {attended} of {event.capacity} places are taken",
            extra={"capacity": event.capacity, "attended": attended},
        )
    row.attended = True
    row.attended_at = utc_now()
    row.version += 1
    await session.flush()
    await _record(session, principal, "invitation.attended", row)
    return row


async def _acquisition_read(
    session: AsyncSession, row: EventAcquisition, client: Client | None = None
) -> AcquisitionRead:
    client = client or await session.get(Client, row.client_id)
    referrer = client.referred_by_client_id if client is not None else None
    referral = False
    if referrer is not None:
        came = select(func.count()).where(
            col(EventInvitation.event_id) == row.event_id,
            col(EventInvitation.client_id) == referrer,
            col(EventInvitation.attended).is_(True),
        )
        referral = bool(await session.scalar(came))
    return AcquisitionRead(
        event_id=row.event_id,
        client_id=row.client_id,
        referral=referral,
        referred_by_client_id=referrer,
        created_at=row.created_at,
    )


async def acquire(
    *, session: AsyncSession, principal: Principal, event: ClientEvent, client_id: uuid.UUID
) -> AcquisitionRead:
    """Attribute a client to the event (once: a client is acquired at one event at most)."""
    client = await _client(session, principal, client_id)
    row = EventAcquisition(
        client_id=client.id, event_id=event.id, recorded_by=principal.actor, created_at=utc_now()
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyDone("this client is already attributed to an event") from exc
    read = await _acquisition_read(session, row, client)
    await record_change(
        session,
        principal,
        action="client_event.client_acquired",
        resource_type="client_event",
        resource_id=event.id,
        after=read.model_dump(mode="json"),
    )
    return read


async def report(*, session: AsyncSession, event: ClientEvent) -> ClientEventReport:
    invitations = await invitations_of(session=session, event=event)
    rsvps = Counter(i.rsvp for i in invitations)
    rows = (
        await session.execute(
            select(EventAcquisition)
            .where(col(EventAcquisition.event_id) == event.id)
            .order_by(col(EventAcquisition.created_at))
        )
    ).scalars()
    acquired = [await _acquisition_read(session, row) for row in rows]
    return ClientEventReport(
        event_id=event.id,
        capacity=event.capacity,
        invited=len(invitations),
        accepted=rsvps[Rsvp.ACCEPTED.value],
        declined=rsvps[Rsvp.DECLINED.value],
        attended=sum(1 for i in invitations if i.attended),
        new_clients=len(acquired),
        referrals=sum(1 for a in acquired if a.referral),
        acquired=acquired,
    )


async def referrals_of(
    *, session: AsyncSession, principal: Principal, client: Client, cursor: str | None, limit: int
) -> ReferralPage:
    """One page of the clients this client referred (those in the caller's scope), oldest first,
    and the tiers of all of them; both through ``ix_clients_referrals``."""
    referred = [col(Client.referred_by_client_id) == client.id, *live_and_visible(principal)]
    after = read_cursor(cursor, datetime, uuid.UUID)
    keyset = (
        []
        if after is None
        else [tuple_(col(Client.created_at), col(Client.id)) > tuple_(*map(literal, after))]
    )
    stmt = (
        select(Client, col(EventAcquisition.event_id))
        .outerjoin(EventAcquisition, col(EventAcquisition.client_id) == col(Client.id))
        .where(*referred, *keyset)
        .order_by(col(Client.created_at), col(Client.id))
        .limit(limit + 1)
    )
    rows, next_cursor = trim(
        (await session.execute(stmt)).all(), limit, key=lambda row: (row[0].created_at, row[0].id)
    )
    items = [
        Referral(
            client_id=c.id, name=c.name, tier=c.tier, created_at=c.created_at, acquired_at_event_id=event_id
        )
        for c, event_id in rows
    ]
    tiers = select(col(Client.tier), func.count()).where(*referred).group_by(col(Client.tier))
    counted = {tier or "none": count for tier, count in (await session.execute(tiers)).all()}
    return ReferralPage(
        referred_by_client_id=client.id,
        count=sum(counted.values()),
        tiers=counted,
        items=items,
        next_cursor=next_cursor,
    )
