"""Request dependencies: the caller, its tools, and the client it names (in scope, or 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from crmkit.auth import Principal, require_scope
from crmkit.clock import BusinessClock
from crmkit.db import SessionDep
from services.clients import repository
from services.clients.config import Settings
from services.clients.errors import ClientNotFound
from services.clients.models import Client
from services.clients.peers import PolicyBook, UserDirectory
from services.clients.tools import Tools

__all__ = ["ChangedClient", "DirectoryDep", "ReaderDep", "SessionDep", "ToolsDep", "ValidClient", "WriterDep"]

ReaderDep = Annotated[Principal, require_scope("clients:read")]
WriterDep = Annotated[Principal, require_scope("clients:write")]
ClientId = Annotated[uuid.UUID, Path(description="The client's id.")]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_tools(request: Request) -> Tools:
    """The app's tools, built once per cipher and settings (a lifespan sets them), not on every
    request: ``settings.zone`` is a ``ZoneInfo`` lookup and the clock a frozen dataclass."""
    state = request.app.state
    built: tuple[object, object, Tools] | None = getattr(state, "clients_tools", None)
    if built is None or built[0] is not state.cipher or built[1] is not state.settings:
        tools = Tools(cipher=state.cipher, clock=BusinessClock(zone=get_settings(request).zone))
        built = state.clients_tools = (state.cipher, state.settings, tools)
    return built[2]


async def get_directory(request: Request) -> UserDirectory:
    """The gateway's user directory, asked with the caller's own token."""
    return UserDirectory(
        http=request.app.state.peer_http,
        base_url=get_settings(request).identity_url,
        authorization=request.headers.get("authorization"),
    )


async def get_policy_book(request: Request) -> PolicyBook:
    """The policies service, asked with the caller's own token."""
    return PolicyBook(
        http=request.app.state.peer_http,
        base_url=get_settings(request).policies_url,
        authorization=request.headers.get("authorization"),
    )


ToolsDep = Annotated[Tools, Depends(get_tools)]
PolicyBookDep = Annotated[PolicyBook, Depends(get_policy_book)]
DirectoryDep = Annotated[UserDirectory, Depends(get_directory)]


async def valid_client(client_id: ClientId, principal: ReaderDep, session: SessionDep) -> Client:
    """The live client in the caller's scope; anything else is the same 404."""
    client = await repository.get_visible(session=session, principal=principal, client_id=client_id)
    if client is None:
        raise ClientNotFound()
    return client


async def client_to_change(client_id: ClientId, principal: WriterDep, session: SessionDep) -> Client:
    """Like ``valid_client``, but locked until the transaction ends, so If-Match cannot race."""
    client = await repository.get_visible(
        session=session, principal=principal, client_id=client_id, for_update=True
    )
    if client is None:
        raise ClientNotFound()
    return client


ValidClient = Annotated[Client, Depends(valid_client)]
ChangedClient = Annotated[Client, Depends(client_to_change)]
