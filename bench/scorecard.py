"""The team scorecard for 50 agents over 12 months at bench scale (issue 19), and how fast the
performance service counts events into its precomputed monthly counters.

A database of its own (``crm_bench_scorecard``), migrated for the performance service, gets what
the event feed would have built from a book of 103,000 clients and 51,500 policies over twelve
months: 600 agent-month counter rows (COPY; every client and deal of the book counted once) and
600 monthly goals. The team lead's scorecard (``GET /api/v1/performance/scorecards/team``: 50
agent rows, the team total, the 12-month trend and the funnel) is then asked 300 times through
the app (in process, httpx ASGI transport), p50 and p99 reported, JSON and CSV. The read never
touches clients or policies: its cost is the team's 600 counter rows, whatever the book's size.

Counting is measured separately: 20,000 synthetic events (client created, tiered, needs analysed,
application, first premium, issued, in force, interactions) through ``counters.count`` in pages
of 500, as the feed runs them.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from crmkit.auth import Role, issue_access_token
from crmkit.db import create_engine, session_factory
from crmkit.migrations import upgrade_to_head
from launcher import throwaway
from launcher.apps import ALL_APPS
from services.performance import counters
from services.performance.config import Settings
from services.performance.main import create_app
from services.performance.models import COUNTERS
from services.performance.scorecard import add_months

DATABASE = "crm_bench_scorecard"
AGENTS = 50
MONTHS = 12
CLIENTS = 103_000
POLICIES = 51_500
REQUESTS = 300
EVENTS_COUNTED = 20_000
ZONE = ZoneInfo("Asia/Shanghai")
CHANNELS = ("warm_market", "referral", "cold", "online")


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _counter_rows(team_id: uuid.UUID, agents: list[uuid.UUID], first: date) -> list[tuple[Any, ...]]:
    """Each agent's months: their share of the book's clients and deals, spread over the year."""
    rng = random.Random(19)
    rows = []
    for a, agent in enumerate(agents):
        clients = _share(CLIENTS, AGENTS, a)
        deals = _share(POLICIES, AGENTS, a)
        for m in range(MONTHS):
            leads = _share(clients, MONTHS, m)
            closed = _share(deals, MONTHS, m)
            referral = leads // 5
            values = {
                "leads_warm_market": leads - referral - leads // 10 - leads // 20,
                "leads_referral": referral,
                "leads_cold": leads // 10,
                "leads_online": leads // 20,
                "tiered": leads * 9 // 10,
                "needs_analysed": leads * 6 // 10,
                "effective_clients": leads * 4 // 10,
                "proposals": closed * 3 // 2,
                "applications": closed + closed // 10,
                "closed_deals": closed,
                "first_year_premium": Decimal(closed * rng.randint(5000, 9000)),
                "referral_deals": closed // 4,
                "referral_premium": Decimal(closed // 4 * 7000),
                "issued": closed,
                "in_force": closed * 9 // 10,
                "appointments": rng.randint(20, 40),
                "visits": rng.randint(15, 30),
                "calls": rng.randint(60, 120),
            }
            rows.append((agent, add_months(first, m), team_id, *(values[c] for c in COUNTERS)))
    return rows


def _goal_rows(team_id: uuid.UUID, agents: list[uuid.UUID], first: date) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    rows = []
    for agent in agents:
        for m in range(MONTHS):
            month = add_months(first, m)
            rows.append(
                (
                    uuid.uuid4(), agent, team_id, month.year, month.month, 3, 2, Decimal("20000.00"),
                    30, 20, 100, "approved", agent, agent, now, 1, now, now,
                )
            )  # fmt: skip
    return rows


GOAL_COLUMNS = [
    "id", "agent_id", "team_id", "year", "month", "effective_clients", "closed_deals", "first_year_premium",
    "appointments", "visits", "calls", "status", "set_by", "approved_by", "approved_at", "version",
    "created_at", "updated_at",
]  # fmt: skip


async def _load(url: str, team_id: uuid.UUID, agents: list[uuid.UUID], first: date) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "agent_months",
            schema_name="performance",
            columns=["agent_id", "month", "team_id", *COUNTERS],
            records=_counter_rows(team_id, agents, first),
        )
        await conn.copy_records_to_table(
            "goals",
            schema_name="performance",
            columns=GOAL_COLUMNS,
            records=_goal_rows(team_id, agents, first),
        )
        await conn.execute("VACUUM ANALYZE performance.agent_months")
        await conn.execute("VACUUM ANALYZE performance.goals")
    finally:
        await conn.close()


def _events(agents: list[uuid.UUID], team_id: uuid.UUID, n: int) -> list[dict[str, Any]]:
    """A realistic mix: per client created, a tier, a needs analysis, an interaction; per second
    client an application, its first premium, issue and in force."""
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    moment = "2026-11-15T02:00:00Z"

    def event(kind: str, resource: uuid.UUID, data: dict[str, Any]) -> None:
        out.append({"type": kind, "occurred_at": moment, "resource": {"id": str(resource), "data": data}})

    while len(out) < n:
        agent = rng.choice(agents)
        owner = {"owner_agent_id": str(agent), "team_id": str(team_id)}
        client = uuid.uuid4()
        event("client.created", client, {**owner, "channel": rng.choice(CHANNELS)})
        event("client.tier_changed", client, {"computed_tier": rng.choice("AABC")})
        event("needs_assessment.saved", client, {"client_annual_income": "300000.00"})
        event("interaction.recorded", client, {"kind": "visit", "at": moment, "client_id": str(client)})
        if rng.random() < 0.5:
            application = uuid.uuid4()
            event(
                "application.created",
                application,
                {**owner, "client_id": str(client), "annual_premium": "8000.00"},
            )
            event("application.first_premium_paid", application, {"paid_on": "2026-11-15"})
            policy = {**owner, "client_id": str(client)}
            event("policy.issued", uuid.uuid4(), policy)
            event("policy.in_force", uuid.uuid4(), policy)
    return out[:n]


async def _count_rate(url: str, agents: list[uuid.UUID], team_id: uuid.UUID) -> float:
    events = _events(agents, team_id, EVENTS_COUNTED)
    engine = create_engine(Settings(database_url=url, environment="development"))
    sessions = session_factory(engine)
    try:
        started = time.perf_counter()
        for i in range(0, len(events), 500):
            async with sessions() as session:
                await counters.count(session, events[i : i + 500], ZONE)
                await session.commit()
        return len(events) / (time.perf_counter() - started)
    finally:
        await engine.dispose()


def _ms(samples: list[float], q: int) -> float:
    return round(statistics.quantiles(samples, n=100)[q - 1] * 1000, 2)


async def _run(url: str) -> dict[str, Any]:
    team_id = uuid.uuid4()
    agents = [uuid.uuid4() for _ in range(AGENTS)]
    this_month = datetime.now(ZONE).date().replace(day=1)
    first = add_months(this_month, -(MONTHS - 1))
    await _load(url, team_id, agents, first)
    settings = Settings(
        database_url=url, environment="development", feed_interval_seconds=0, revocation_poll_seconds=0
    )
    app = create_app(settings)
    token = issue_access_token(settings, user_id=uuid.uuid4(), role=Role.TEAM_LEAD, team_id=team_id)
    headers = {"Authorization": f"Bearer {token}"}
    figures: dict[str, Any] = {"agents": AGENTS, "months": MONTHS, "clients": CLIENTS, "policies": POLICIES}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://performance.internal") as client:
            for fmt in ("json", "csv"):
                params = {"format": fmt}
                for _ in range(20):  # warm the pool and the caches
                    (
                        await client.get(
                            "/api/v1/performance/scorecards/team", params=params, headers=headers
                        )
                    ).raise_for_status()
                samples = []
                for _ in range(REQUESTS):
                    started = time.perf_counter()
                    response = await client.get(
                        "/api/v1/performance/scorecards/team", params=params, headers=headers
                    )
                    samples.append(time.perf_counter() - started)
                    response.raise_for_status()
                if fmt == "json":
                    body = response.json()
                    if len(body["agents"]) != AGENTS or len(body["trend"]) != MONTHS:
                        raise SystemExit("bench: the team scorecard came back incomplete")
                figures[fmt] = {"p50_ms": _ms(samples, 50), "p99_ms": _ms(samples, 99), "requests": REQUESTS}
    figures["events_per_second"] = round(await _count_rate(url, agents, team_id))
    return figures


def measure(server_url: str) -> dict[str, Any]:
    """The team scorecard at bench scale, and the counting rate."""
    url = throwaway.recreate_database(server_url, DATABASE)
    try:
        spec = next(spec for spec in ALL_APPS if spec.name == "performance")
        upgrade_to_head(spec.migrations_dir, url)
        return asyncio.run(_run(url))
    finally:
        throwaway.drop_database(server_url, DATABASE)


if __name__ == "__main__":
    with throwaway.database_server("bench") as server:
        print(json.dumps(measure(server), indent=2))
