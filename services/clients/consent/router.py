"""Consent records of a client, and the audited reveal of an identifier."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from crmkit.auth import Principal, Role, require_roles, require_scope
from crmkit.idempotency import NEVER_REPLAYED, IdempotencyNotSupported
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.consent import service
from services.clients.consent.schemas import (
    ConsentCheck,
    ConsentGiven,
    ConsentPurpose,
    ConsentRead,
    ConsentWithdrawal,
    RevealedIdentifier,
    RevealRequest,
)
from services.clients.dependencies import (
    ChangedClient,
    PolicyBookDep,
    SessionDep,
    ToolsDep,
    ValidClient,
    WriterDep,
)
from services.clients.models import Consent
from services.clients.repository import child_of

BASE = "/api/v1/clients/{client_id:uuid}"

router = APIRouter(
    prefix=BASE,
    tags=["consent"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
DEPENDENT_WORK_IN_POLICIES = frozenset({ConsentPurpose.SHARING_WITH_INSURER.value})
"""Purposes whose withdrawal flags open work in the policies service (applications to an insurer)."""
RevealerDep = Annotated[Principal, require_scope("clients:reveal")]
ConsentId = Annotated[uuid.UUID, Path(description="The consent record's id.")]


class IdempotentRevealRefused(IdempotencyNotSupported):
    """A reveal is never replayed from a cache: one problem type with every refused key."""


@router.post("/consents", status_code=status.HTTP_201_CREATED)
async def give_consent(
    client: ChangedClient, data: ConsentGiven, principal: WriterDep, session: SessionDep, response: Response
) -> ConsentRead:
    """Record the client's consent to a purpose (``personal_data`` allows identifiers to be stored)."""
    consent = await service.give_consent(session=session, principal=principal, client=client, data=data)
    response.headers["Location"] = f"/api/v1/clients/{client.id}/consents/{consent.id}"
    return service.to_read(consent)


@router.get("/consents")
async def list_consents(
    client: ValidClient, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[ConsentRead]:
    """The client's consent records, active and withdrawn, newest first."""
    return await service.consents_of(session=session, client=client, cursor=cursor, limit=limit)


@router.get("/consents/check")
async def check_consent(client: ValidClient, purpose: ConsentPurpose, session: SessionDep) -> ConsentCheck:
    """The consent gate: whether the client has an active consent to `purpose` now. Work that
    depends on it asks first (submission to an insurer: `sharing_with_insurer`; greetings, event
    invitations, outbound messages: `marketing`) and stops with 409 `consent-required` if not."""
    return await service.check_consent(session=session, client=client, purpose=purpose)


@router.get("/consents/{consent_id:uuid}")
async def get_consent(client: ValidClient, consent_id: ConsentId, session: SessionDep) -> ConsentRead:
    """One consent record (what ``Location`` names after it is given)."""
    consent = await child_of(
        session=session, model=Consent, row_id=consent_id, client_id=client.id, what="consent"
    )
    return service.to_read(consent)


@router.post("/consents/{consent_id:uuid}/withdraw")
async def withdraw_consent(
    client: ChangedClient,
    consent_id: ConsentId,
    principal: WriterDep,
    session: SessionDep,
    book: PolicyBookDep,
    body: ConsentWithdrawal | None = None,
) -> ConsentRead:
    """Withdraw a consent; withdrawing the last ``personal_data`` consent erases the identifiers.
    What depends on the purpose stops from now on (409 `consent-required`), and the client's open
    applications are flagged when `sharing_with_insurer` is withdrawn."""
    consent = await child_of(
        session=session,
        model=Consent,
        row_id=consent_id,
        client_id=client.id,
        what="consent",
        for_update=True,
    )
    consent = await service.withdraw_consent(
        session=session,
        principal=principal,
        client=client,
        consent=consent,
        reason=body.reason if body else None,
    )
    if consent.purpose in DEPENDENT_WORK_IN_POLICIES and not await service.has_active_consent(
        session=session, client_id=client.id, purpose=ConsentPurpose(consent.purpose)
    ):
        # The withdrawal stands before anyone is told: the policies service checks it over HTTP.
        await session.commit()
        await book.hold_open_work(client.id, consent.purpose)
    return service.to_read(consent)


@router.post("/reveal", **NEVER_REPLAYED)
async def reveal_identifier(
    client: ValidClient,
    reveal: RevealRequest,
    principal: RevealerDep,
    session: SessionDep,
    tools: ToolsDep,
    request: Request,
    response: Response,
) -> RevealedIdentifier:
    """Show one identifier unmasked, with a reason; audited. Never cached, never replayed."""
    if "idempotency-key" in request.headers:
        # A replayable answer would be stored; an unmasked identifier must never be.
        raise IdempotentRevealRefused("send reveal without an Idempotency-Key: its answer is never stored")
    value = await service.reveal_identifier(
        session=session, tools=tools, principal=principal, client=client, request=reveal
    )
    response.headers["Cache-Control"] = "no-store"
    return RevealedIdentifier(client_id=client.id, field=reveal.field, value=value)
