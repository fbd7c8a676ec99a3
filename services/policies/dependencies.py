"""Request dependencies: the caller, its tools, and the records it names (in scope, or 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request

from crmkit.auth import Principal, require_scope
from crmkit.clock import BusinessClock
from crmkit.db import SessionDep
from services.policies import repository
from services.policies.config import Settings
from services.policies.errors import ApplicationNotFound, PolicyNotFound, ProductNotFound, ProposalNotFound
from services.policies.models import Application, Policy, Product, Proposal
from services.policies.peers import ClientDirectory
from services.policies.tools import Tools

__all__ = [
    "ChangedApplication",
    "ChangedPolicy",
    "ChangedProduct",
    "ChangedProposal",
    "DirectoryDep",
    "ReaderDep",
    "SessionDep",
    "ToolsDep",
    "ValidApplication",
    "ValidPolicy",
    "ValidProduct",
    "ValidProposal",
    "WriterDep",
]

ReaderDep = Annotated[Principal, require_scope("policies:read")]
WriterDep = Annotated[Principal, require_scope("policies:write")]


def clock_of(app: FastAPI) -> BusinessClock:
    """The business clock; ``app.state.clock`` replaces it where time is moved (tests, demo data)."""
    settings: Settings = app.state.settings
    clock: BusinessClock | None = getattr(app.state, "clock", None)
    return clock or BusinessClock(settings.zone)


async def get_tools(request: Request) -> Tools:
    settings: Settings = request.app.state.settings
    return Tools(clock=clock_of(request.app), cipher=request.app.state.cipher, settings=settings)


async def get_directory(request: Request) -> ClientDirectory:
    """The clients service, asked with the caller's own token."""
    settings: Settings = request.app.state.settings
    return ClientDirectory(
        http=request.app.state.peer_http,
        base_url=settings.clients_url,
        authorization=request.headers.get("authorization"),
    )


ToolsDep = Annotated[Tools, Depends(get_tools)]
DirectoryDep = Annotated[ClientDirectory, Depends(get_directory)]

ProductId = Annotated[uuid.UUID, Path(description="The product's id.")]
ProposalId = Annotated[uuid.UUID, Path(description="The proposal's id.")]
ApplicationId = Annotated[uuid.UUID, Path(description="The application's id.")]
PolicyId = Annotated[uuid.UUID, Path(description="The policy's id.")]


async def valid_product(product_id: ProductId, principal: ReaderDep, session: SessionDep) -> Product:
    """Any product of the catalogue (active or not: old policies still name it)."""
    product = await session.get(Product, product_id)
    if product is None:
        raise ProductNotFound()
    return product


async def product_to_change(product_id: ProductId, session: SessionDep) -> Product:
    product = await session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise ProductNotFound()
    return product


async def valid_proposal(proposal_id: ProposalId, principal: ReaderDep, session: SessionDep) -> Proposal:
    proposal = await repository.get_visible(
        session=session, model=Proposal, principal=principal, record_id=proposal_id
    )
    if proposal is None:
        raise ProposalNotFound()
    return proposal


async def proposal_to_change(proposal_id: ProposalId, principal: WriterDep, session: SessionDep) -> Proposal:
    proposal = await repository.get_visible(
        session=session, model=Proposal, principal=principal, record_id=proposal_id, for_update=True
    )
    if proposal is None:
        raise ProposalNotFound()
    return proposal


async def valid_application(
    application_id: ApplicationId, principal: ReaderDep, session: SessionDep
) -> Application:
    application = await repository.get_visible(
        session=session, model=Application, principal=principal, record_id=application_id
    )
    if application is None:
        raise ApplicationNotFound()
    return application


async def application_to_change(
    application_id: ApplicationId, principal: WriterDep, session: SessionDep
) -> Application:
    """Locked until the transaction ends, so If-Match and the state machine cannot race."""
    application = await repository.get_visible(
        session=session, model=Application, principal=principal, record_id=application_id, for_update=True
    )
    if application is None:
        raise ApplicationNotFound()
    return application


async def valid_policy(policy_id: PolicyId, principal: ReaderDep, session: SessionDep) -> Policy:
    policy = await repository.get_visible(
        session=session, model=Policy, principal=principal, record_id=policy_id
    )
    if policy is None:
        raise PolicyNotFound()
    return policy


async def policy_to_change(policy_id: PolicyId, principal: WriterDep, session: SessionDep) -> Policy:
    policy = await repository.get_visible(
        session=session, model=Policy, principal=principal, record_id=policy_id, for_update=True
    )
    if policy is None:
        raise PolicyNotFound()
    return policy


ValidProduct = Annotated[Product, Depends(valid_product)]
ChangedProduct = Annotated[Product, Depends(product_to_change)]
ValidProposal = Annotated[Proposal, Depends(valid_proposal)]
ChangedProposal = Annotated[Proposal, Depends(proposal_to_change)]
ValidApplication = Annotated[Application, Depends(valid_application)]
ChangedApplication = Annotated[Application, Depends(application_to_change)]
ValidPolicy = Annotated[Policy, Depends(valid_policy)]
ChangedPolicy = Annotated[Policy, Depends(policy_to_change)]
