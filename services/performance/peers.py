"""Calls to other apps over HTTP, and nothing else: the gateway's user directory, asked with the
caller's own token (``crmkit.peers.get_json``), so its scoping applies: a team lead sees the
team's users, an agent only themselves, an admin everyone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from crmkit.app import AppHook
from crmkit.peers import PeerUnavailable, get_json, peer_client_hook
from services.performance.config import Settings


@dataclass(frozen=True, slots=True)
class Agent:
    id: uuid.UUID
    role: str
    team_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class UserDirectory:
    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    async def find(self, user_id: uuid.UUID) -> Agent | None:
        """The user as the caller may see them; ``None`` when outside the caller's scope."""
        url = f"{self.base_url.rstrip('/')}/api/v1/users/{user_id}"
        body = await get_json(self.http, url, authorization=self.authorization, peer="identity")
        if body is None:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("role"), str):
            raise PeerUnavailable("unexpected answer from the identity service")
        team = body.get("team_id")
        return Agent(id=user_id, role=body["role"], team_id=uuid.UUID(team) if team else None)


def peer_hooks(settings: Settings, *, transport: httpx.AsyncBaseTransport | None) -> list[AppHook]:
    return [peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport)]
