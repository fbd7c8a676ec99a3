"""The policies service, asked on the caller's behalf: does the policy exist, is it theirs, and was it
in force on the incident date? Its own scoping applies, so another agent's policy is simply absent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import httpx

from crmkit.peers import PeerUnavailable, get_json


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What a claim copies from its policy: scope (owner, team) and what the agent reads on lists."""

    id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    policy_number: str | None
    insurer: str | None
    product_name: str | None


@dataclass(frozen=True, slots=True)
class InForce:
    in_force: bool
    reason: str | None
    in_waiting_period: bool = False
    waiting_ends_on: date | None = None


@dataclass(frozen=True, slots=True)
class PolicyDirectory:
    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    def _url(self, policy_id: uuid.UUID, tail: str = "") -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/policies/{policy_id}{tail}"

    async def find_policy(self, policy_id: uuid.UUID) -> PolicyFacts | None:
        """The policy, or ``None`` when the policies service does not show it to the caller."""
        body = await get_json(
            self.http, self._url(policy_id), authorization=self.authorization, peer="policies"
        )
        if body is None:
            return None
        try:
            return PolicyFacts(
                id=uuid.UUID(str(body["id"])),
                client_id=uuid.UUID(str(body["client_id"])),
                owner_agent_id=uuid.UUID(str(body["owner_agent_id"])),
                team_id=uuid.UUID(str(body["team_id"])) if body.get("team_id") else None,
                policy_number=_text(body.get("policy_number"), 64),
                insurer=_text(body.get("insurer"), 100),
                product_name=_text(body.get("product_name"), 200),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PeerUnavailable("unexpected answer from the policies service; nothing was changed") from exc

    async def in_force_on(self, policy_id: uuid.UUID, on: date) -> InForce | None:
        """The policies service owns the in-force rule (effective, not void, not surrendered, not
        lapsed, not expired or terminated) and says whether the day was in the waiting period."""
        body = await get_json(
            self.http,
            self._url(policy_id, "/in-force"),
            authorization=self.authorization,
            peer="policies",
            params={"on": on.isoformat()},
        )
        if body is None:
            return None
        in_force = body.get("in_force") if isinstance(body, dict) else None
        if not isinstance(in_force, bool):
            raise PeerUnavailable("unexpected answer from the policies service; nothing was changed")
        reason = body.get("reason")
        waiting = body.get("in_waiting_period") is True
        try:
            ends = date.fromisoformat(str(body["waiting_ends_on"])) if body.get("waiting_ends_on") else None
        except ValueError as exc:
            raise PeerUnavailable("unexpected answer from the policies service; nothing was changed") from exc
        return InForce(
            in_force=in_force,
            reason=str(reason) if reason else None,
            in_waiting_period=waiting,
            waiting_ends_on=ends,
        )


def _text(value: object, limit: int) -> str | None:
    return str(value)[:limit] if value is not None else None
