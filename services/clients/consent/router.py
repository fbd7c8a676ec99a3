"""Consent records of a client, and the audited reveal of an identifier."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from crmkit.auth import Principal, Role, require_roles, require_scope
from crmkit.idempotency import IdempotencyNotSupported
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.consent import service
from services.clients.consent.schemas import (
    ConsentGiven,
    ConsentRead,
    ConsentWithdrawal,
    RevealedIdentifier,
    RevealRequest,
)
from services.clients.dependencies import ChangedClient, SessionDep, ToolsDep, ValidClient, WriterDep
from services.clients.models import Consent
from services.clients.repository import child_of

BASE = "/api/v1/clients/{client_id:uuid}"

router = APIRouter(
    prefix=BASE,
    tags=["consent"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
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
    body: ConsentWithdrawal | None = None,
) -> ConsentRead:
    """Withdraw a consent; withdrawing the last ``personal_data`` consent erases the identifiers."""
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
    return service.to_read(consent)


@router.post("/reveal")
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
