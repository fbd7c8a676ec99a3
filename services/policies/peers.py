"""The clients service, asked over HTTP on the caller's behalf (its schema is never read).

The caller's token is forwarded, so the clients service's own scoping decides what exists: a
client the caller may not see is simply not found. A clients service that is down is a 503
problem (``PeerUnavailable``) and the request stores nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from crmkit.peers import PeerUnavailable, get_json
from services.policies.errors import ClientNotFound


@dataclass(frozen=True, slots=True)
class ClientView:
    id: uuid.UUID
    name: str
    birth_date: date | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Member:
    id: uuid.UUID
    name: str
    relationship: str
    birth_date: date | None
    is_breadwinner: bool


@dataclass(frozen=True, slots=True)
class Household:
    """The client is the reference person; ``members`` are the others."""

    annual_income: Decimal | None = None
    income_history: list[tuple[Decimal, str]] = field(default_factory=list)
    client_is_breadwinner: bool = True
    members: list[Member] = field(default_factory=list)

    def member(self, member_id: uuid.UUID) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)


@dataclass(frozen=True, slots=True)
class WallNeed:
    wall: str
    target: Decimal | None
    existing: Decimal
    gap: Decimal | None
    """``None`` when the clients service cannot tell the target (no income recorded...)."""


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise PeerUnavailable("unexpected amount from the clients service") from exc


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


@dataclass(frozen=True, slots=True)
class ClientDirectory:
    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    def _url(self, client_id: uuid.UUID, tail: str = "") -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/clients/{client_id}{tail}"

    async def _get(self, url: str) -> Any | None:
        return await get_json(self.http, url, authorization=self.authorization, peer="clients")

    async def client(self, client_id: uuid.UUID) -> ClientView:
        """The client as the caller may see it; ``ClientNotFound`` otherwise."""
        body = await self._get(self._url(client_id))
        if body is None:
            raise ClientNotFound()
        try:
            return ClientView(
                id=uuid.UUID(str(body["id"])),
                name=str(body["name"]),
                birth_date=_date(body.get("birth_date")),
                owner_agent_id=uuid.UUID(str(body["owner_agent_id"])),
                team_id=uuid.UUID(str(body["team_id"])) if body.get("team_id") else None,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise PeerUnavailable("unexpected answer from the clients service") from exc

    async def household(self, client_id: uuid.UUID) -> Household:
        """The household; none recorded (404) reads as the client alone, the breadwinner."""
        body = await self._get(self._url(client_id, "/household"))
        if body is None:
            return Household()
        try:
            return Household(
                annual_income=_decimal(body.get("annual_income")),
                income_history=[
                    (_decimal(entry["annual_income"]) or Decimal(0), str(entry.get("recorded_at", "")))
                    for entry in body.get("income_history") or []
                ],
                client_is_breadwinner=bool(body.get("client_is_breadwinner", True)),
                members=[
                    Member(
                        id=uuid.UUID(str(m["id"])),
                        name=str(m["name"]),
                        relationship=str(m.get("relationship", "other")),
                        birth_date=_date(m.get("birth_date")),
                        is_breadwinner=bool(m.get("is_breadwinner", False)),
                    )
                    for m in body.get("members") or []
                ],
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise PeerUnavailable("unexpected household answer from the clients service") from exc

    async def needs(self, client_id: uuid.UUID) -> list[WallNeed] | None:
        """The four walls' targets and recorded cover, or ``None`` when no assessment exists."""
        body = await self._get(self._url(client_id, "/coverage-gaps"))
        if body is None:
            return None
        try:
            return [
                WallNeed(
                    wall=str(w["wall"]),
                    target=_decimal(w.get("target")),
                    existing=_decimal(w.get("existing")) or Decimal(0),
                    gap=_decimal(w.get("gap")),
                )
                for w in body.get("walls") or []
            ]
        except (KeyError, ValueError, TypeError) as exc:
            raise PeerUnavailable("unexpected coverage-gaps answer from the clients service") from exc

    async def consent_active(self, client_id: uuid.UUID, purpose: str) -> bool:
        """Whether the client has an active consent to ``purpose`` now (the clients service's
        consent gate); a client the caller cannot see is ``ClientNotFound``."""
        body = await self._get(f"{self._url(client_id, '/consents/check')}?purpose={purpose}")
        if body is None:
            raise ClientNotFound()
        active = body.get("active") if isinstance(body, dict) else None
        if not isinstance(active, bool):
            raise PeerUnavailable("unexpected consent answer from the clients service")
        return active
