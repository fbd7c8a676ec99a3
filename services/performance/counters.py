"""From the services' published events to per-agent monthly counters (precomputed scorecards).

One function per event type (``HANDLERS``, a table): each reads what the event carries, the facts
remembered from earlier events (the client's owner, the application's premium), and adds to the
agent's month. Called by ``feed.py`` inside the transaction that also moves the feed's cursor,
so every event is counted exactly once.

A page of events is counted in a handful of statements, whatever its length (``Book``): the facts
its events name are read in one query per table first, the handlers work on them in memory, in
the events' order, and at the end the new and changed facts are written in one flush and the
months' counts in one upsert. Counting event by event took three round trips and ~1.2 ms of the
service's CPU an event (issue 22, the POST row of ``make bench``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
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


Counts = dict[str, int | Decimal]


@dataclass(slots=True)
class Month:
    """What a page adds to one agent's month; the month keeps the latest team."""

    team_id: uuid.UUID | None
    counts: Counts = field(default_factory=dict)


@dataclass(slots=True)
class Book:
    """The facts one page of events may name, read at once, and what the page counts, written at once
    (``write``)."""

    session: AsyncSession
    clients: dict[uuid.UUID, ClientFact]
    applications: dict[uuid.UUID, ApplicationFact]
    months: dict[tuple[uuid.UUID, date], Month] = field(default_factory=dict)

    @classmethod
    async def open(cls, session: AsyncSession, events: Sequence[Seen]) -> Book:
        named = {seen.resource_id for seen in events} | {
            client_id for seen in events if (client_id := _uuid(seen.data.get("client_id"))) is not None
        }
        return cls(
            session,
            {f.client_id: f for f in await _facts(session, ClientFact, ClientFact.client_id, named)},
            {
                f.application_id: f
                for f in await _facts(session, ApplicationFact, ApplicationFact.application_id, named)
            },
        )

    def client(self, client_id: uuid.UUID | None) -> ClientFact | None:
        return None if client_id is None else self.clients.get(client_id)

    def application(self, application_id: uuid.UUID) -> ApplicationFact | None:
        return self.applications.get(application_id)

    def remember_client(self, fact: ClientFact) -> None:
        self.session.add(fact)
        self.clients[fact.client_id] = fact

    def remember_application(self, fact: ApplicationFact) -> None:
        self.session.add(fact)
        self.applications[fact.application_id] = fact

    def add(
        self, *, agent_id: uuid.UUID, team_id: uuid.UUID | None, day: date, **counts: int | Decimal
    ) -> None:
        """Add ``counts`` to the agent's month."""
        key = (agent_id, month_of(day))
        month = self.months.get(key)
        if month is None:
            month = self.months[key] = Month(team_id)
        month.team_id = team_id
        for name, value in counts.items():
            month.counts[name] = month.counts.get(name, 0) + value

    async def write(self) -> None:
        """The new and changed facts (one flush), then every month's counts in one upsert (created
        at zero), in key order so that two writers lock the rows in the same order."""
        await self.session.flush()
        if not self.months:
            return
        names = sorted({name for month in self.months.values() for name in month.counts})
        rows = [
            {"agent_id": agent_id, "month": day, "team_id": month.team_id}
            | {name: month.counts.get(name, 0) for name in names}
            for (agent_id, day), month in sorted(self.months.items(), key=lambda item: item[0])
        ]
        table = AgentMonth.__table__  # type: ignore[attr-defined]
        stmt = insert(table).values(rows)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["agent_id", "month"],
                set_={"team_id": stmt.excluded.team_id, **{k: table.c[k] + stmt.excluded[k] for k in names}},
            )
        )


async def _facts(session: AsyncSession, model: Any, key: Any, ids: Iterable[uuid.UUID]) -> Sequence[Any]:
    return (await session.scalars(select(model).where(key.in_(list(ids))))).all()


def _client_created(book: Book, seen: Seen) -> None:
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    channel = seen.data.get("channel")
    if agent_id is None or not isinstance(channel, str) or book.client(seen.resource_id) is not None:
        return
    team_id = _uuid(seen.data.get("team_id"))
    book.remember_client(
        ClientFact(client_id=seen.resource_id, agent_id=agent_id, team_id=team_id, channel=channel)
    )
    book.add(agent_id=agent_id, team_id=team_id, day=seen.occurred_on, **{f"leads_{channel}": 1})


def _client_reassigned(book: Book, seen: Seen) -> None:
    """What follows counts for the new owner; what was counted stays with the old one."""
    fact = book.client(seen.resource_id)
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    if fact is None or agent_id is None:
        return
    fact.agent_id = agent_id
    if "team_id" in seen.data:
        fact.team_id = _uuid(seen.data["team_id"])


def _maybe_effective(book: Book, fact: ClientFact, day: date) -> None:
    tier = fact.override_tier or fact.computed_tier
    if fact.effective_month is None and fact.needs_analysed_on is not None and tier in EFFECTIVE_TIERS:
        fact.effective_month = month_of(day)
        book.add(agent_id=fact.agent_id, team_id=fact.team_id, day=day, effective_clients=1)


def _tier_changed(book: Book, seen: Seen) -> None:
    fact = book.client(seen.resource_id)
    if fact is None:
        return
    if "computed_tier" in seen.data:
        fact.computed_tier = seen.data["computed_tier"]
    if "override_tier" in seen.data:
        fact.override_tier = seen.data["override_tier"]
    if fact.tiered_on is None and (fact.override_tier or fact.computed_tier):
        fact.tiered_on = seen.occurred_on
        book.add(agent_id=fact.agent_id, team_id=fact.team_id, day=seen.occurred_on, tiered=1)
    _maybe_effective(book, fact, seen.occurred_on)


def _needs_saved(book: Book, seen: Seen) -> None:
    fact = book.client(seen.resource_id)
    if fact is None or fact.needs_analysed_on is not None:
        return
    fact.needs_analysed_on = seen.occurred_on
    book.add(agent_id=fact.agent_id, team_id=fact.team_id, day=seen.occurred_on, needs_analysed=1)
    _maybe_effective(book, fact, seen.occurred_on)


def _interaction(book: Book, seen: Seen) -> None:
    counter = ACTIVITY_COUNTERS.get(str(seen.data.get("kind")))
    fact = book.client(_uuid(seen.data.get("client_id")))
    if counter is None or fact is None:
        return
    at = seen.data.get("at")
    day = datetime.fromisoformat(at).astimezone(seen.zone).date() if isinstance(at, str) else seen.occurred_on
    book.add(agent_id=fact.agent_id, team_id=fact.team_id, day=day, **{counter: 1})


def _owned(book: Book, seen: Seen, counter: str) -> None:
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    if agent_id is not None:
        team_id = _uuid(seen.data.get("team_id"))
        book.add(agent_id=agent_id, team_id=team_id, day=seen.occurred_on, **{counter: 1})


def _proposal_created(book: Book, seen: Seen) -> None:
    _owned(book, seen, "proposals")


def _application_created(book: Book, seen: Seen) -> None:
    agent_id = _uuid(seen.data.get("owner_agent_id"))
    client_id = _uuid(seen.data.get("client_id"))
    if agent_id is None or client_id is None or book.application(seen.resource_id) is not None:
        return
    client = book.client(client_id)
    book.remember_application(
        ApplicationFact(
            application_id=seen.resource_id,
            client_id=client_id,
            agent_id=agent_id,
            team_id=_uuid(seen.data.get("team_id")),
            annual_premium=Decimal(str(seen.data.get("annual_premium", "0"))),
            referral=client is not None and client.channel == "referral",
        )
    )
    _owned(book, seen, "applications")


def _deal(fact: ApplicationFact, sign: int) -> Counts:
    premium = fact.annual_premium * sign
    counts: Counts = {"closed_deals": sign, "first_year_premium": premium}
    if fact.referral:
        counts |= {"referral_deals": sign, "referral_premium": premium}
    return counts


def _first_premium(book: Book, seen: Seen) -> None:
    fact = book.application(seen.resource_id)
    paid_on = seen.data.get("paid_on")
    if fact is None or fact.deal_month is not None or not isinstance(paid_on, str):
        return
    day = date.fromisoformat(paid_on)
    fact.deal_month = month_of(day)
    book.add(agent_id=fact.agent_id, team_id=fact.team_id, day=day, **_deal(fact, 1))


def _application_ended(book: Book, seen: Seen) -> None:
    """Declined, postponed or withdrawn after the first premium: the deal is taken back."""
    fact = book.application(seen.resource_id)
    if fact is None or fact.deal_month is None:
        return
    month = fact.deal_month
    fact.deal_month = None
    book.add(agent_id=fact.agent_id, team_id=fact.team_id, day=month, **_deal(fact, -1))


def _policy_issued(book: Book, seen: Seen) -> None:
    if seen.data.get("renewed_from_id") is None:  # a renewal is not new business
        _owned(book, seen, "issued")


def _policy_in_force(book: Book, seen: Seen) -> None:
    _owned(book, seen, "in_force")


Handler = Callable[[Book, Seen], None]

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
    """Count a page of events in order, written in the session's transaction; returns how many counted."""
    counted = [
        (handler, Seen.of(event, zone)) for event in events if (handler := HANDLERS.get(event["type"]))
    ]
    if not counted:
        return 0
    book = await Book.open(session, [seen for _, seen in counted])
    for handler, seen in counted:
        handler(book, seen)
    await book.write()
    return len(counted)
