"""Calls to other apps over HTTP, and nothing else.

On the caller's behalf (their own token, so the other app's scoping applies): whether a linked
record is visible, whether an assignee is in the caller's team, a client's consents, the
client's birthdays and milestones, and the greeting written on the client's timeline.

On the service's own behalf (``service_authorization``: a five-minute admin token with only the
scopes it needs, as the gateway's webhook dispatcher has): the event streams, the owner of a
record an event names, and an agent's e-mail address at the moment a message goes out.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from crmkit.app import AppHook
from crmkit.auth import Role, issue_access_token
from crmkit.events import EVENTS_SCOPE
from crmkit.http import forwarded_headers
from crmkit.peers import PeerUnavailable, get_json, peer_client_hook
from services.tasks.config import Settings

SERVICE_USER = uuid.UUID("00000000-0000-0000-0000-00000000007a")
"""The ``sub`` of the service's own tokens (never a real user)."""
SERVICE_SCOPES = frozenset({EVENTS_SCOPE, "clients:read", "policies:read", "claims:read", "users:read"})

LINK_PATHS = {
    "client": ("clients", "/api/v1/clients/{id}"),
    "application": ("policies", "/api/v1/policies/applications/{id}"),
    "policy": ("policies", "/api/v1/policies/{id}"),
    "claim": ("claims", "/api/v1/claims/{id}"),
}


def service_authorization(settings: Settings, ttl: timedelta = timedelta(minutes=5)) -> str:
    token = issue_access_token(
        settings,
        user_id=SERVICE_USER,
        role=Role.ADMIN,
        team_id=None,
        scopes=SERVICE_SCOPES,
        ttl=ttl,
    )
    return f"Bearer {token}"


@dataclass(frozen=True, slots=True)
class Peers:
    """The other apps, asked with ``authorization`` (the caller's, or the service's own)."""

    http: httpx.AsyncClient
    settings: Settings
    authorization: str | None

    def _url(self, service: str, path: str) -> str:
        return self.settings.peers[service] + path

    async def record(self, link_type: str, record_id: uuid.UUID) -> dict[str, Any] | None:
        """The linked record as its service shows it to the caller; ``None`` when it does not."""
        service, path = LINK_PATHS[link_type]
        body = await get_json(
            self.http,
            self._url(service, path.format(id=record_id)),
            authorization=self.authorization,
            peer=service,
        )
        return body if isinstance(body, dict) else None

    async def user(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        """``GET /api/v1/users/{id}`` at the gateway; ``None`` when the caller may not see them."""
        url = f"{self.settings.identity_url.rstrip('/')}/api/v1/users/{user_id}"
        body = await get_json(self.http, url, authorization=self.authorization, peer="identity")
        return body if isinstance(body, dict) else None

    async def active_consents(self, client_id: uuid.UUID) -> set[str] | None:
        """The purposes the client has active consent for; ``None`` when the client is not visible."""
        url = self._url("clients", f"/api/v1/clients/{client_id}/consents")
        body = await get_json(
            self.http, url, authorization=self.authorization, peer="clients", params={"limit": 200}
        )
        if body is None:
            return None
        return {c["purpose"] for c in body["items"] if c.get("active")}

    async def upcoming(self, first: date, days: int) -> list[dict[str, Any]]:
        """Birthdays and family milestones of the caller's clients, soonest first."""
        url = self._url("clients", "/api/v1/clients/milestones/upcoming")
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(20):
            params: dict[str, Any] = {"from": first.isoformat(), "within_days": days, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            body = await get_json(
                self.http, url, authorization=self.authorization, peer="clients", params=params
            )
            if body is None:
                break
            items.extend(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return items

    async def pages(
        self, service: str, path: str, params: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a cursor-paginated list the token may see, in turn (at most 100 pages of 200)."""
        url = self._url(service, path)
        cursor: str | None = None
        for _ in range(100):
            query: dict[str, Any] = {**params, "limit": 200}
            if cursor:
                query["cursor"] = cursor
            body = await get_json(
                self.http, url, authorization=self.authorization, peer=service, params=query
            )
            if body is None:
                return
            yield body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return

    async def all_items(self, service: str, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a cursor-paginated list the token may see (at most 100 pages of 200)."""
        return [item async for page in self.pages(service, path, params) for item in page]

    async def appointments(self, day: date) -> list[dict[str, Any]]:
        """Appointments on ``day`` with the clients the token may see (the service's own: all)."""
        return await self.all_items("clients", "/api/v1/clients/appointments", {"from": day.isoformat()})

    def premiums_due(self, within_days: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Premium instalments due within ``within_days`` (and overdue ones), a page at a time."""
        return self.pages("policies", "/api/v1/policies/worklists/premiums-due", {"within_days": within_days})

    def claim_updates_due(self, on: date) -> AsyncIterator[list[dict[str, Any]]]:
        """Open claims whose client is owed the weekly update (manual §五.2), a page at a time."""
        return self.pages("claims", "/api/v1/claims/updates-due", {"on": on.isoformat()})

    async def record_on_timeline(self, client_id: uuid.UUID, *, purpose: str, outcome: str) -> uuid.UUID:
        """A note on the client's timeline (clients' interactions API); its id."""
        url = self._url("clients", f"/api/v1/clients/{client_id}/interactions")
        try:
            response = await self.http.post(
                url,
                json={"kind": "note", "purpose": purpose, "outcome": outcome},
                headers=forwarded_headers(self.authorization),
            )
        except httpx.HTTPError as exc:
            raise PeerUnavailable("the clients service is unreachable; nothing was changed") from exc
        if response.status_code != 201:
            raise PeerUnavailable(f"the clients service answered {response.status_code}; nothing was changed")
        return uuid.UUID(response.json()["id"])

    async def events(self, service: str, after: str | None, limit: int) -> dict[str, Any]:
        """One page of a service's event stream (crmkit/events.py)."""
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        response = await self.http.get(
            self._url(service, f"/api/v1/{service}/events"),
            params=params,
            headers=forwarded_headers(self.authorization),
        )
        response.raise_for_status()
        page: dict[str, Any] = response.json()
        return page


def peer_hooks(settings: Settings, *, transport: httpx.AsyncBaseTransport | None) -> list[AppHook]:
    """One pooled client with the service's peer timeout."""
    return [peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport)]
