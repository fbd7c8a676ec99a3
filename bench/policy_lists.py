"""The policies service's issue-16 reads at 50,000 policies: the annual-review due list, the open
compliance flags and the business report, for an agent, a team lead and an admin.

``python -m bench.policy_lists`` (``CRM_TEST_DATABASE_URL`` names the server, else the embedded
one): a fresh ``crm_bench_policy_lists`` database → the policies migrations → 50,000 policies in
force for 40,000 clients of 100 agents in 10 teams, 10,000 recorded reviews, 500 open flags (SQL
``generate_series``) → each read 15 times through the service functions on one session each;
prints the median of the last 12. Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from crmkit.auth import Principal, Role
from crmkit.clock import BusinessClock
from crmkit.migrations import upgrade_to_head
from crmkit.settings import asyncpg_url
from launcher.apps import SERVICES
from launcher.throwaway import database_server, drop_database, recreate_database
from services.policies import annual_review, reports, return_visits
from services.policies.config import get_settings
from services.policies.schemas import FlagState

DATABASE = "crm_bench_policy_lists"
RUNS, WARMUP = 15, 3

BOOK = """
CREATE TEMP TABLE teams AS SELECT g AS n, gen_random_uuid() AS team FROM generate_series(0, 9) g;
CREATE TEMP TABLE agents AS
    SELECT g AS n, gen_random_uuid() AS agent, teams.team
    FROM generate_series(0, 99) g JOIN teams ON teams.n = g % 10;
CREATE TEMP TABLE clients AS SELECT g AS n, gen_random_uuid() AS client FROM generate_series(0, 39999) g;
INSERT INTO policies.policies (id, application_id, policy_number, insurer, product_id, product_name,
    category, kind, client_id, insured_name, owner_agent_id, team_id, status, sum_insured, annual_premium,
    payment_years, walls, cooling_off_days, issued_on, effective_on, in_force_on, version, created_at,
    updated_at)
SELECT gen_random_uuid(), gen_random_uuid(), 'B' || g, 'bench', gen_random_uuid(), 'p', 'critical_illness',
    'protection', clients.client, 'n', agents.agent, agents.team, 'in_force', 100000, 1000, 20,
    ARRAY['critical_illness'], 15, current_date - (g % 1000), current_date - (g % 1000),
    current_date - (g % 1000), 1, now(), now()
FROM generate_series(0, 49999) g
    JOIN clients ON clients.n = g % 40000
    JOIN agents ON agents.n = (g % 40000) % 100;
INSERT INTO policies.policy_reviews (id, client_id, owner_agent_id, team_id, reviewed_on, findings,
    recorded_by, created_at)
SELECT gen_random_uuid(), clients.client, agents.agent, agents.team, current_date - (clients.n % 700), '[]',
    'bench', now()
FROM clients JOIN agents ON agents.n = clients.n % 100 WHERE clients.n % 4 = 0;
INSERT INTO policies.compliance_flags (id, policy_id, client_id, owner_agent_id, team_id, kind, reasons,
    raised_on, created_at)
SELECT gen_random_uuid(), id, client_id, owner_agent_id, team_id, 'return_visit_failed', ARRAY['unreached'],
    current_date, now()
FROM policies.policies LIMIT 500;
ANALYZE policies.policies;
ANALYZE policies.policy_reviews;
ANALYZE policies.compliance_flags;
"""


async def _book(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(BOOK)
        row = await conn.fetchrow("SELECT agent, team FROM agents WHERE n = 7")
        assert row is not None
        return row["agent"], row["team"]
    finally:
        await conn.close()


async def measure(url: str) -> None:
    agent, team = await _book(url)
    engine = create_async_engine(asyncpg_url(url))
    clock = BusinessClock(get_settings().zone)
    today = clock.today()
    who = {
        "agent": Principal(user_id=agent, role=Role.AGENT, team_id=team),
        "team lead": Principal(user_id=uuid.uuid4(), role=Role.TEAM_LEAD, team_id=team),
        "admin": Principal(user_id=uuid.uuid4(), role=Role.ADMIN, team_id=None),
    }

    def reads(p: Principal) -> dict[str, Callable[[AsyncSession], Awaitable[Any]]]:
        return {
            "reviews due (30 days)": lambda s: annual_review.reviews_due(
                session=s, principal=p, today=today, within_days=30, limit=50, cursor=None
            ),
            "open compliance flags": lambda s: return_visits.list_flags(
                session=s, principal=p, state=FlagState.OPEN, limit=50, cursor=None
            ),
            "business report (year)": lambda s: reports.business_report(
                session=s, principal=p, clock=clock, first=date(today.year, 1, 1), last=today
            ),
        }

    print("policy-lists | 50,000 policies, 40,000 clients, 10,000 reviews, 500 open flags")
    try:
        for label, principal in who.items():
            for name, read in reads(principal).items():
                took: list[float] = []
                for _ in range(RUNS):
                    async with AsyncSession(engine) as session:
                        started = time.perf_counter()
                        await read(session)
                        took.append((time.perf_counter() - started) * 1000)
                print(
                    f"policy-lists | {label:<9} {name:<24} median {statistics.median(took[WARMUP:]):7.1f} ms"
                )
    finally:
        await engine.dispose()


def main() -> None:
    with database_server("bench-policy-lists") as server:
        url = recreate_database(server, DATABASE)
        try:
            policies = next(spec for spec in SERVICES if spec.name == "policies")
            upgrade_to_head(policies.migrations_dir, url)
            asyncio.run(measure(url))
        finally:
            drop_database(server, DATABASE)


if __name__ == "__main__":
    os.environ.setdefault("CRM_LOG_LEVEL", "WARNING")
    main()
