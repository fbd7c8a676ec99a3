"""From the services' published events to per-agent monthly counters (precomputed scorecards).

One function per event type (``HANDLERS``, a table): each reads what the event carries, the facts
remembered from earlier events (the client's owner, the application's premium), and adds to the
agent's month. Called by ``feed.py`` inside the transaction that also moves the feed's cursor,
so every event is counted exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.performance.models import AgentMonth, ApplicationFact, ClientFact

EFFECTIVE_TIERS = frozenset({"A", "B"})
ACTIVITY_COUNTERS = {"appointment": "appointments", "visit": "visits", "call": "calls"}
TAKEN_BACK = frozenset({"application.declined", "application.postponed", "application.withdrawn"})


@dataclass(frozen=True, slots=True)
class Seen:
    """One published event as the feed answers it."""

    type: str
    resource_id: uuid.UUID
    data: dict[str, Any]
    occurred_on: date
    zone: ZoneInfo

    @classmethod
    def of(cls, event: Mapping[str, Any], zone: ZoneInfo) -> Seen:
        moment = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        return cls(
            type=event["type"],
            resource_id=uuid.UUID(event["resource"]["id"]),
            data=event["resource"].get("data") or {},
            occurred_on=moment.astimezone(zone).date(),
            zone=zone,
        )


def month_of(day: date) -> date:
    return day.replace(day=1)


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) else None


async def add(
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    team_id: uuid.UUID | None,
    day: date,
    **counts: int | Decimal,
) -> None:
    """Add ``counts`` to the agent's month (created at zero); the month keeps the latest team."""
    values: dict[str, Any] = {"agent_id": agent_id, "month": month_of(day), "team_id": team_id, **counts}
    table = AgentMonth.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["agent_id", "month"],
            set_={"team_id": stmt.excluded.team_id, **{k: table.c[k] + stmt.excluded[k] for k in counts}},
        )
    )


async def _client_created(session: AsyncSession, seen: Seen) -> None:
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    channel = seen.data.get("channel")
    known = await session.get(ClientFact, seen.resource_id)
    if agent_id is None or not isinstance(channel, str) or known is not None:
        return
    team_id = _uuid(seen.data.get("team_id"))
    session.add(ClientFact(client_id=seen.resource_id, agent_id=agent_id, team_id=team_id, channel=channel))
    await session.flush()  # later events of this page find it (the sessions do not autoflush)
    await add(session, agent_id=agent_id, team_id=team_id, day=seen.occurred_on, **{f"leads_{channel}": 1})


async def _client_reassigned(session: AsyncSession, seen: Seen) -> None:
    """What follows counts for the new owner; what was counted stays with the old one."""
    fact = await session.get(ClientFact, seen.resource_id)
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    if fact is None or agent_id is None:
        return
    fact.agent_id = agent_id
    if "team_id" in seen.data:
        fact.team_id = _uuid(seen.data["team_id"])


async def _maybe_effective(session: AsyncSession, fact: ClientFact, day: date) -> None:
    tier = fact.override_tier or fact.computed_tier
    if fact.effective_month is None and fact.needs_analysed_on is not None and tier in EFFECTIVE_TIERS:
        fact.effective_month = month_of(day)
        await add(session, agent_id=fact.agent_id, team_id=fact.team_id, day=day, effective_clients=1)


async def _tier_changed(session: AsyncSession, seen: Seen) -> None:
    fact = await session.get(ClientFact, seen.resource_id)
    if fact is None:
        return
    if "computed_tier" in seen.data:
        fact.computed_tier = seen.data["computed_tier"]
    if "override_tier" in seen.data:
        fact.override_tier = seen.data["override_tier"]
    if fact.tiered_on is None and (fact.override_tier or fact.computed_tier):
        fact.tiered_on = seen.occurred_on
        await add(session, agent_id=fact.agent_id, team_id=fact.team_id, day=seen.occurred_on, tiered=1)
    await _maybe_effective(session, fact, seen.occurred_on)


async def _needs_saved(session: AsyncSession, seen: Seen) -> None:
    fact = await session.get(ClientFact, seen.resource_id)
    if fact is None or fact.needs_analysed_on is not None:
        return
    fact.needs_analysed_on = seen.occurred_on
    await add(session, agent_id=fact.agent_id, team_id=fact.team_id, day=seen.occurred_on, needs_analysed=1)
    await _maybe_effective(session, fact, seen.occurred_on)


async def _interaction(session: AsyncSession, seen: Seen) -> None:
    counter = ACTIVITY_COUNTERS.get(str(seen.data.get("kind")))
    fact = await session.get(ClientFact, _uuid(seen.data.get("client_id")) or uuid.UUID(int=0))
    if counter is None or fact is None:
        return
    at = seen.data.get("at")
    day = datetime.fromisoformat(at).astimezone(seen.zone).date() if isinstance(at, str) else seen.occurred_on
    await add(session, agent_id=fact.agent_id, team_id=fact.team_id, day=day, **{counter: 1})


async def _owned(session: AsyncSession, seen: Seen, counter: str) -> None:
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    if agent_id is not None:
        team_id = _uuid(seen.data.get("team_id"))
        await add(session, agent_id=agent_id, team_id=team_id, day=seen.occurred_on, **{counter: 1})


async def _proposal_created(session: AsyncSession, seen: Seen) -> None:
    await _owned(session, seen, "proposals")


async def _application_created(session: AsyncSession, seen: Seen) -> None:
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    client_id = _uuid(seen.data.get("client_id"))
    known = await session.get(ApplicationFact, seen.resource_id)
    if agent_id is None or client_id is None or known is not None:
        return
    client = await session.get(ClientFact, client_id)
    session.add(
        ApplicationFact(
            application_id=seen.resource_id,
            client_id=client_id,
            agent_id=agent_id,
            team_id=_uuid(seen.data.get("team_id")),
            annual_premium=Decimal(str(seen.data.get("annual_premium", "0"))),
            referral=client is not None and client.channel == "referral",
        )
    )
    await session.flush()
    await _owned(session, seen, "applications")


def _deal(fact: ApplicationFact, sign: int) -> dict[str, int | Decimal]:
    premium = fact.annual_premium * sign
    counts: dict[str, int | Decimal] = {"closed_deals": sign, "first_year_premium": premium}
    if fact.referral:
        counts |= {"referral_deals": sign, "referral_premium": premium}
    return counts


async def _first_premium(session: AsyncSession, seen: Seen) -> None:
    fact = await session.get(ApplicationFact, seen.resource_id)
    paid_on = seen.data.get("paid_on")
    if fact is None or fact.deal_month is not None or not isinstance(paid_on, str):
        return
    day = date.fromisoformat(paid_on)
    fact.deal_month = month_of(day)
    await add(session, agent_id=fact.agent_id, team_id=fact.team_id, day=day, **_deal(fact, 1))


async def _application_ended(session: AsyncSession, seen: Seen) -> None:
    """Declined, postponed or withdrawn after the first premium: the deal is taken back."""
    fact = await session.get(ApplicationFact, seen.resource_id)
    if fact is None or fact.deal_month is None:
        return
    month = fact.deal_month
    fact.deal_month = None
    await add(session, agent_id=fact.agent_id, team_id=fact.team_id, day=month, **_deal(fact, -1))


async def _policy_issued(session: AsyncSession, seen: Seen) -> None:
    if seen.data.get("renewed_from_id") is None:  # a renewal is not new business
        await _owned(session, seen, "issued")


async def _policy_in_force(session: AsyncSession, seen: Seen) -> None:
    await _owned(session, seen, "in_force")


Handler = Callable[[AsyncSession, Seen], Awaitable[None]]

HANDLERS: Mapping[str, Handler] = {
    "client.created": _client_created,
    "client.reassigned": _client_reassigned,
    "client.tier_changed": _tier_changed,
    "needs_assessment.saved": _needs_saved,
    "interaction.recorded": _interaction,
    "proposal.created": _proposal_created,
    "application.created": _application_created,
    "application.first_premium_paid": _first_premium,
    **dict.fromkeys(TAKEN_BACK, _application_ended),
    "policy.issued": _policy_issued,
    "policy.in_force": _policy_in_force,
}
"""Event type → how it counts. Other events are read past."""


async def count(session: AsyncSession, events: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> int:
    """Count a page of events in order; returns how many counted."""
    counted = 0
    for event in events:
        handler = HANDLERS.get(event["type"])
        if handler is not None:
            await handler(session, Seen.of(event, zone))
            counted += 1
    return counted
