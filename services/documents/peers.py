"""Calls to other services over HTTP, and nothing else.

Every question about a record goes to the service that owns it, with the caller's own token, so
that service's scoping decides: a record the caller may not see is not found here either (404).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from crmkit.app import AppHook
from crmkit.http import forwarded_headers
from crmkit.peers import PeerUnavailable, get_json, peer_client_hook
from services.documents.config import Settings
from services.documents.errors import RecordNotFound
from services.documents.kinds import RecordType


@dataclass(frozen=True, slots=True)
class RecordRef:
    record_type: RecordType
    record_id: uuid.UUID
    parent_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """What the owner service says about the record: whose it is, and for a claim checklist item
    its status and the claim's version (to mark it received)."""

    ref: RecordRef
    client_id: uuid.UUID | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    item_status: str | None = None
    item_next: tuple[str, ...] = ()
    claim_version: int | None = None


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) else None


def _owned(body: Any, peer: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    owner = _uuid(body.get("owner_agent_id")) if isinstance(body, dict) else None
    if owner is None:
        raise PeerUnavailable(f"unexpected answer from the {peer} service")
    return owner, _uuid(body.get("team_id"))


@dataclass(frozen=True, slots=True)
class RecordDirectory:
    http: httpx.AsyncClient
    settings: Settings
    authorization: str | None

    async def _get(self, base: str, path: str, peer: str) -> Any | None:
        return await get_json(
            self.http, f"{base.rstrip('/')}{path}", authorization=self.authorization, peer=peer
        )

    async def resolve(self, ref: RecordRef) -> RecordInfo:
        """The record as the caller may see it; ``RecordNotFound`` otherwise."""
        s = self.settings
        match ref.record_type:
            case RecordType.CLIENT:
                body = await self._get(s.clients_url, f"/api/v1/clients/{ref.record_id}", "clients")
                if body is None:
                    raise RecordNotFound("client")
                owner, team = _owned(body, "clients")
                return RecordInfo(ref, ref.record_id, owner, team)
            case RecordType.COMPLAINT:
                path = f"/api/v1/clients/{ref.parent_id}/complaints/{ref.record_id}"
                if await self._get(s.clients_url, path, "clients") is None:
                    raise RecordNotFound("complaint")
                client = await self._get(s.clients_url, f"/api/v1/clients/{ref.parent_id}", "clients")
                if client is None:
                    raise RecordNotFound("complaint")
                owner, team = _owned(client, "clients")
                return RecordInfo(ref, ref.parent_id, owner, team)
            case RecordType.POLICY:
                body = await self._get(s.policies_url, f"/api/v1/policies/{ref.record_id}", "policies")
                if body is None:
                    raise RecordNotFound("policy")
                owner, team = _owned(body, "policies")
                return RecordInfo(ref, _uuid(body.get("client_id")), owner, team)
            case RecordType.APPLICATION_REQUIREMENT:
                path = f"/api/v1/policies/applications/{ref.parent_id}"
                body = await self._get(s.policies_url, path, "policies")
                wanted = str(ref.record_id)
                if body is None or not any(r.get("id") == wanted for r in body.get("requirements", [])):
                    raise RecordNotFound("underwriting requirement")
                owner, team = _owned(body, "policies")
                return RecordInfo(ref, _uuid(body.get("client_id")), owner, team)
            case RecordType.CLAIM_DOCUMENT:
                body = await self._get(s.claims_url, f"/api/v1/claims/{ref.parent_id}", "claims")
                wanted = str(ref.record_id)
                item = next((d for d in (body or {}).get("documents", []) if d.get("id") == wanted), None)
                if body is None or item is None:
                    raise RecordNotFound("claim checklist item")
                owner, team = _owned(body, "claims")
                return RecordInfo(
                    ref,
                    _uuid(body.get("client_id")),
                    owner,
                    team,
                    item_status=item.get("status"),
                    item_next=tuple(item.get("allowed_next_statuses", [])),
                    claim_version=body.get("version"),
                )

    async def mark_item_received(self, info: RecordInfo) -> bool:
        """Tell claims the checklist item's file arrived (missing or rejected → received).
        ``False`` when the item is already past that (received, submitted): nothing to do."""
        if "received" not in info.item_next or info.claim_version is None:
            return False
        ref = info.ref
        url = (
            f"{self.settings.claims_url.rstrip('/')}/api/v1/claims/{ref.parent_id}/documents/{ref.record_id}"
        )
        headers = forwarded_headers(self.authorization)
        headers["If-Match"] = f'"{info.claim_version}"'
        try:
            answer = await self.http.patch(
                url, json={"status": "received", "note": "file uploaded (documents)"}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise PeerUnavailable("the claims service is unreachable; nothing was stored") from exc
        if answer.status_code == 200:
            return True
        if answer.status_code in (409, 412):  # moved meanwhile by someone else: theirs stands
            return False
        raise PeerUnavailable(f"the claims service answered {answer.status_code}; nothing was stored")


def peer_hooks(settings: Settings, *, transport: httpx.AsyncBaseTransport | None) -> list[AppHook]:
    return [peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport)]
