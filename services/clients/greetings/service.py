"""Greetings and other outbound messages (manual 五.3), gated by the marketing consent (六.2)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page
from services.clients.consent.schemas import ConsentPurpose
from services.clients.consent.service import active_consent
from services.clients.errors import ConsentRequired
from services.clients.greetings.schemas import GreetingCreate, GreetingRead
from services.clients.models import Client, Greeting
from services.clients.repository import newest_first
from services.clients.trail import record_change

RESOURCE = "greeting"


def to_read(greeting: Greeting) -> GreetingRead:
    return GreetingRead.model_validate(greeting, from_attributes=True)


async def send_greeting(
    *, session: AsyncSession, principal: Principal, client: Client, data: GreetingCreate
) -> Greeting:
    """Record a greeting sent to the client; without an active marketing consent nothing is sent (409)."""
    consent = await active_consent(session=session, client_id=client.id, purpose=ConsentPurpose.MARKETING)
    if consent is None:
        raise ConsentRequired(
            ConsentPurpose.MARKETING.value,
            "a greeting, invitation or other outbound message needs the client's active 'marketing' "
            "consent; nothing was sent",
        )
    now = datetime.now(UTC)
    greeting = Greeting(
        client_id=client.id,
        occasion=data.occasion.value,
        channel=data.channel.value,
        message=data.message,
        consent_id=consent.id,
        sent_at=now,
        sent_by=principal.actor,
        created_at=now,
    )
    session.add(greeting)
    await session.flush()
    await record_change(
        session,
        principal,
        action="greeting.sent",
        resource_type=RESOURCE,
        resource_id=greeting.id,
        after=to_read(greeting).model_dump(mode="json"),
    )
    return greeting


async def greetings_of(
    *, session: AsyncSession, client: Client, cursor: str | None, limit: int
) -> Page[GreetingRead]:
    rows, next_cursor = await newest_first(
        session=session,
        model=Greeting,
        conditions=[col(Greeting.client_id) == client.id],
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[to_read(r) for r in rows], next_cursor=next_cursor)
