"""Request dependencies: the caller, its tools, the policies service (a peer), and the claim it names."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from crmkit.auth import Principal, require_scope
from crmkit.clock import BusinessClock
from crmkit.db import SessionDep
from services.claims import repository
from services.claims.config import Settings
from services.claims.errors import ClaimNotFound, DocumentNotFound
from services.claims.models import Claim, ClaimDocument
from services.claims.peers import PolicyDirectory
from services.claims.views import Tools

__all__ = [
    "ChangedClaim",
    "PoliciesDep",
    "ReaderDep",
    "SessionDep",
    "ToolsDep",
    "ValidClaim",
    "WriterDep",
]

ReaderDep = Annotated[Principal, require_scope("claims:read")]
WriterDep = Annotated[Principal, require_scope("claims:write")]
ClaimId = Annotated[uuid.UUID, Path(description="The claim's id.")]
DocumentId = Annotated[uuid.UUID, Path(description="The checklist item's id.")]


async def get_tools(request: Request) -> Tools:
    settings: Settings = request.app.state.settings
    return Tools(cipher=request.app.state.cipher, settings=settings, clock=BusinessClock(settings.zone))


async def get_policies(request: Request) -> PolicyDirectory:
    """The policies service, asked with the caller's own token."""
    settings: Settings = request.app.state.settings
    return PolicyDirectory(
        http=request.app.state.peer_http,
        base_url=settings.policies_url,
        authorization=request.headers.get("authorization"),
    )


ToolsDep = Annotated[Tools, Depends(get_tools)]
PoliciesDep = Annotated[PolicyDirectory, Depends(get_policies)]


async def valid_claim(claim_id: ClaimId, principal: ReaderDep, session: SessionDep) -> Claim:
    """The claim in the caller's scope; anything else is the same 404."""
    claim = await repository.get_visible(session=session, principal=principal, claim_id=claim_id)
    if claim is None:
        raise ClaimNotFound()
    return claim


async def claim_to_change(claim_id: ClaimId, principal: WriterDep, session: SessionDep) -> Claim:
    """Like ``valid_claim``, but locked until the transaction ends, so If-Match cannot race."""
    claim = await repository.get_visible(
        session=session, principal=principal, claim_id=claim_id, for_update=True
    )
    if claim is None:
        raise ClaimNotFound()
    return claim


ValidClaim = Annotated[Claim, Depends(valid_claim)]
ChangedClaim = Annotated[Claim, Depends(claim_to_change)]


async def checklist_of(claim: ValidClaim, session: SessionDep) -> list[ClaimDocument]:
    return await repository.documents_of(session=session, claim_id=claim.id)


Checklist = Annotated[list[ClaimDocument], Depends(checklist_of)]


async def checklist_to_change(claim: ChangedClaim, session: SessionDep) -> list[ClaimDocument]:
    return await repository.documents_of(session=session, claim_id=claim.id)


ChangedChecklist = Annotated[list[ClaimDocument], Depends(checklist_to_change)]


async def document_on_claim(document_id: DocumentId, documents: ChangedChecklist) -> ClaimDocument:
    """The checklist item of this claim; an item of another claim is not found here."""
    for document in documents:
        if document.id == document_id:
            return document
    raise DocumentNotFound()


ChangedDocument = Annotated[ClaimDocument, Depends(document_on_claim)]
