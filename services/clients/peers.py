"""Every call of the clients service to another service over HTTP, each on the caller's behalf (their
own token, so the other side's scoping applies): the gateway's user directory when a client changes
owner, and the policies service when a complaint names a policy."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import httpx

from crmkit.auth import Role
from crmkit.http import forwarded_headers
from crmkit.peers import PeerUnavailable, get_json

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    id: uuid.UUID
    role: Role
    team_id: uuid.UUID | None
    active: bool


@dataclass(frozen=True, slots=True)
class UserDirectory:
    """``GET {identity_url}/api/v1/users/{id}`` with the caller's own token, so the gateway's
    scoping applies too: a user the caller may not see is simply not found."""

    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    async def find_user(self, user_id: uuid.UUID) -> DirectoryUser | None:
        """The user, or ``None`` when the directory does not show it to the caller."""
        url = f"{self.base_url.rstrip('/')}/api/v1/users/{user_id}"
        body = await get_json(self.http, url, authorization=self.authorization, peer="identity")
        if body is None:
            return None
        try:
            return DirectoryUser(
                id=uuid.UUID(str(body["id"])),
                role=Role(body["role"]),
                team_id=uuid.UUID(str(body["team_id"])) if body.get("team_id") else None,
                active=body.get("is_active", True) is True,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PeerUnavailable("unexpected answer from the identity service") from exc


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """``GET {policies_url}/api/v1/policies/{id}`` with the caller's own token: a policy the caller
    may not see is simply not found."""

    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    async def client_of_policy(self, policy_id: uuid.UUID) -> uuid.UUID | None:
        """The client the policy covers, or ``None`` when the caller cannot see such a policy."""
        url = f"{self.base_url.rstrip('/')}/api/v1/policies/{policy_id}"
        body = await get_json(self.http, url, authorization=self.authorization, peer="policies")
        if body is None:
            return None
        try:
            return uuid.UUID(str(body["client_id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise PeerUnavailable("unexpected answer from the policies service") from exc

    async def hold_open_work(self, client_id: uuid.UUID, purpose: str) -> int | None:
        """Tell the policies service a consent was withdrawn: it flags the client's open applications
        that depend on it. Best effort: the withdrawal stands whatever happens here, and the
        submission gate asks for the consent live anyway; ``None`` when the call failed."""
        url = f"{self.base_url.rstrip('/')}/api/v1/policies/consent-holds"
        try:
            response = await self.http.post(
                url,
                json={"client_id": str(client_id), "purpose": purpose},
                headers=forwarded_headers(self.authorization),
            )
        except httpx.HTTPError:
            log.warning("consent withdrawal not passed to the policies service: unreachable")
            return None
        if response.status_code != 200:
            log.warning("consent withdrawal not passed to the policies service: %s", response.status_code)
            return None
        held = response.json().get("held")
        return held if isinstance(held, int) else None
