"""Consent (manual 六.2): recorded before identifiers are stored; withdrawing it erases them.

Rule chosen: while a client has no active ``personal_data`` consent, no resident ID or phone may be
stored for them. When the last active one is withdrawn, the stored identifiers are erased at once
(ciphertext, keyed hash and mask), and the rest of the client file (name, interactions, complaints,
the consent records themselves and the audit trail) is kept: it is the business record an agency
must retain, and it holds no identifier. Storing identifiers again needs a new consent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page
from crmkit.problems import Conflict
from services.clients.consent.schemas import (
    ConsentCheck,
    ConsentGiven,
    ConsentPurpose,
    ConsentRead,
    RevealRequest,
)
from services.clients.errors import ConsentRequired, InvalidClientField
from services.clients.identifiers import erase_identifiers, has_identifiers, unseal_field
from services.clients.models import Client, Consent
from services.clients.repository import newest_first
from services.clients.tools import Tools
from services.clients.trail import record_change

RESOURCE = "consent"
CLOCK_SKEW = timedelta(minutes=5)
"""A phone's clock may run a little ahead; a consent 'given' further in the future is refused."""


def to_read(consent: Consent) -> ConsentRead:
    return ConsentRead(
        id=consent.id,
        client_id=consent.client_id,
        purpose=ConsentPurpose(consent.purpose),
        text_version=consent.text_version,
        given_at=consent.given_at,
        withdrawn_at=consent.withdrawn_at,
        withdrawal_reason=consent.withdrawal_reason,
        active=consent.withdrawn_at is None,
        version=consent.version,
        created_at=consent.created_at,
    )


def consent_view(consent: Consent) -> dict[str, object]:
    return to_read(consent).model_dump(mode="json")


async def has_active_consent(
    *, session: AsyncSession, client_id: uuid.UUID, purpose: ConsentPurpose = ConsentPurpose.PERSONAL_DATA
) -> bool:
    stmt = select(literal(1)).where(
        col(Consent.client_id) == client_id,
        col(Consent.purpose) == purpose.value,
        col(Consent.withdrawn_at).is_(None),
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def active_consent(
    *, session: AsyncSession, client_id: uuid.UUID, purpose: ConsentPurpose
) -> Consent | None:
    """The newest active consent of the client to ``purpose``, if any."""
    stmt = (
        select(Consent)
        .where(
            col(Consent.client_id) == client_id,
            col(Consent.purpose) == purpose.value,
            col(Consent.withdrawn_at).is_(None),
        )
        .order_by(col(Consent.given_at).desc(), col(Consent.id).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalars().first()


async def check_consent(*, session: AsyncSession, client: Client, purpose: ConsentPurpose) -> ConsentCheck:
    """The consent gate's answer for one purpose, now."""
    consent = await active_consent(session=session, client_id=client.id, purpose=purpose)
    return ConsentCheck(
        client_id=client.id,
        purpose=purpose,
        active=consent is not None,
        consent_id=consent.id if consent else None,
        text_version=consent.text_version if consent else None,
        given_at=consent.given_at if consent else None,
    )


async def require_consent(
    *, session: AsyncSession, client: Client, purpose: ConsentPurpose, what: str
) -> None:
    """409 ``consent-required`` naming the purpose when the client has no active consent to it."""
    if await active_consent(session=session, client_id=client.id, purpose=purpose) is None:
        raise ConsentRequired(
            purpose.value, f"{what} needs the client's active '{purpose.value}' consent; nothing was stored"
        )


def new_consent(*, client_id: uuid.UUID, principal: Principal, data: ConsentGiven, field: str) -> Consent:
    """A consent row (not yet added); ``field`` names the body field in errors."""
    now = datetime.now(UTC)
    given_at = data.given_at or now
    if given_at > now + CLOCK_SKEW:
        raise InvalidClientField(field, "consent cannot be given in the future")
    return Consent(
        client_id=client_id,
        purpose=data.purpose.value,
        text_version=data.text_version,
        given_at=given_at,
        recorded_by=principal.actor,
        version=1,
        created_at=now,
    )


async def give_consent(
    *, session: AsyncSession, principal: Principal, client: Client, data: ConsentGiven
) -> Consent:
    """Record a consent the client gave (consents are never edited, only withdrawn)."""
    consent = new_consent(client_id=client.id, principal=principal, data=data, field="given_at")
    session.add(consent)
    await session.flush()
    await record_change(
        session,
        principal,
        action="consent.given",
        resource_type=RESOURCE,
        resource_id=consent.id,
        after=consent_view(consent),
    )
    return consent


async def withdraw_consent(
    *, session: AsyncSession, principal: Principal, client: Client, consent: Consent, reason: str | None
) -> Consent:
    """Withdraw; the last active ``personal_data`` consent takes the identifiers with it."""
    if consent.withdrawn_at is not None:
        raise Conflict("this consent was already withdrawn")
    before = consent_view(consent)
    now = datetime.now(UTC)
    consent.withdrawn_at = now
    consent.withdrawal_reason = reason
    consent.version += 1
    await session.flush()
    await record_change(
        session,
        principal,
        action="consent.withdrawn",
        resource_type=RESOURCE,
        resource_id=consent.id,
        before=before,
        after=consent_view(consent),
    )
    if (
        consent.purpose == ConsentPurpose.PERSONAL_DATA
        and has_identifiers(client)
        and not await has_active_consent(session=session, client_id=client.id)
    ):
        masked = {"resident_id": client.resident_id_masked, "phone": client.phone_masked}
        erase_identifiers(client)
        client.version += 1
        client.updated_at = now
        await session.flush()
        await record_change(
            session,
            principal,
            action="client.identifiers_erased",
            resource_type="client",
            resource_id=client.id,
            before={**masked, "version": client.version - 1},
            after={
                "resident_id": None,
                "phone": None,
                "version": client.version,
                "consent_id": str(consent.id),
            },
        )
    return consent


async def reveal_identifier(
    *, session: AsyncSession, tools: Tools, principal: Principal, client: Client, request: RevealRequest
) -> str:
    """The unmasked value; who, which field and why go to the audit trail (the value never does)."""
    value = unseal_field(client, tools.cipher, request.field)
    if value is None:
        raise InvalidClientField("field", f"this client has no {request.field} on file")
    await record_change(
        session,
        principal,
        action="client.identifier_revealed",
        resource_type="client",
        resource_id=client.id,
        after={"field": request.field, "reason": request.reason},
    )
    return value


async def consents_of(
    *, session: AsyncSession, client: Client, cursor: str | None, limit: int
) -> Page[ConsentRead]:
    """The client's consent records, active and withdrawn, newest first."""
    rows, next_cursor = await newest_first(
        session=session,
        model=Consent,
        conditions=[col(Consent.client_id) == client.id],
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[to_read(row) for row in rows], next_cursor=next_cursor)
