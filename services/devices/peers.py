"""Calls to other services over HTTP, and nothing else.

The devices service asks the gateway's user directory whether a device's holder exists and is
active, with the caller's own token (``crmkit.peers.get_json``), so the directory's scoping
applies: operations staff and admins see every user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from crmkit.app import AppHook
from crmkit.peers import PeerUnavailable, get_json, peer_client_hook
from services.devices.config import Settings


@dataclass(frozen=True, slots=True)
class UserDirectory:
    """``GET {identity_url}/api/v1/users/{id}`` on the caller's behalf."""

    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    async def is_active(self, user_id: uuid.UUID) -> bool | None:
        """Whether the user is active; ``None`` when the directory shows no such user to the caller."""
        url = f"{self.base_url.rstrip('/')}/api/v1/users/{user_id}"
        body = await get_json(self.http, url, authorization=self.authorization, peer="identity")
        if body is None:
            return None
        active = body.get("is_active") if isinstance(body, dict) else None
        if not isinstance(active, bool):
            raise PeerUnavailable("unexpected answer from the identity service")
        return active


def peer_hooks(settings: Settings, *, transport: httpx.AsyncBaseTransport | None) -> list[AppHook]:
    """The app's hooks for peer calls: one pooled client with the service's peer timeout."""
    return [peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport)]
