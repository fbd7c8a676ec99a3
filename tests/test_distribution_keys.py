"""Queries on the tables a distributed PostgreSQL (Citus) would shard filter by their distribution key.

docs/scaling.md gives each table its key: the owner agent for the books (clients, proposals,
applications, policies and their schedules, claims), the client for a client's own records. Here
every GET route of the clients, policies and claims apps, and the searches, run as an agent while
``StatementLog`` captures the SQL the apps send; every statement that reads or writes a candidate
table must compare that table's key (through the table's own name or alias) with a value, a list or
a subquery, so that Citus could route it to the shard that holds the key. The statements that
cannot are listed in ``EXCEPTIONS``, each with why.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx

from bench.plans import calls
from crmkit.testing import StatementLog
from tests.clients_support import create_client
from tests.conftest import People, Stack

OWNER = ("owner_agent_id",)
CLIENT = ("client_id",)
# Distribution key per candidate table (docs/scaling.md). A client's own records are keyed by the
# client: they follow the client's shard once they carry the owner too (see the doc).
KEYS: dict[str, tuple[str, ...]] = {
    "clients.clients": OWNER,
    "clients.client_events": OWNER,
    "policies.proposals": OWNER,
    "policies.applications": OWNER,
    "policies.underwriting_requirements": OWNER,
    "policies.policies": OWNER,
    "policies.premium_dues": OWNER,
    "policies.premium_payments": OWNER,
    "policies.return_visits": OWNER,
    "policies.compliance_flags": OWNER,
    "policies.policy_reviews": OWNER,
    "policies.consent_holds": OWNER,
    "claims.claims": OWNER,
    **{
        f"clients.{table}": CLIENT
        for table in (
            "households",
            "household_incomes",
            "family_members",
            "tier_assessments",
            "tier_changes",
            "needs_assessments",
            "interactions",
            "milestones",
            "complaints",
            "consents",
            "greetings",
            "event_invitations",
            "event_acquisitions",
        )
    },
}

# (route, table): statements that read a candidate table without its key, and why that is right.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # The client has no policy: ``policy_id IN ()`` is SQLAlchemy's never-true statement, no shard read.
    ("/api/v1/policies/reviews/{client_id}", "policies.premium_dues"): "an empty IN list",
}

_SQL_WORDS = {
    "where", "join", "on", "left", "right", "inner", "outer", "full", "cross", "order", "group",
    "limit", "offset", "for", "union", "set", "values", "returning", "having", "using", "window",
}  # fmt: skip
_REFERENCE = re.compile(
    r"(?:\bFROM|\bJOIN|\bUPDATE|\bINTO|,)\s+(clients|policies|claims)\.(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.I
)


@dataclass(frozen=True)
class Miss:
    route: str
    table: str
    sql: str


def unkeyed_tables(sql: str) -> set[str]:
    """The candidate tables this statement touches without comparing their key to anything."""
    missing: set[str] = set()
    for schema, table, alias in _REFERENCE.findall(sql):
        name = f"{schema}.{table}".lower()
        if name not in KEYS:
            continue
        qualifier = alias if alias and alias.lower() not in _SQL_WORDS else name
        q = re.escape(qualifier)
        keyed = any(
            re.search(rf"\b{q}\.{key}\s*(=|\bIN\b|<=|>=)", sql, re.I)
            or re.search(rf"=\s*{q}\.{key}\b", sql, re.I)
            for key in KEYS[name]
        )
        if not keyed:
            missing.add(name)
    return missing


def test_the_check_sees_a_missing_key_and_an_aliased_one() -> None:
    scoped = "SELECT a.id FROM clients.clients a WHERE a.owner_agent_id = $1 AND a.id >= $2"
    unscoped = "SELECT clients.clients.id FROM clients.clients WHERE clients.clients.id = $1"
    child = (
        "SELECT clients.interactions.id FROM clients.interactions WHERE clients.interactions.client_id"
        " IN (SELECT clients.clients.id FROM clients.clients WHERE clients.clients.owner_agent_id = $1)"
    )

    assert unkeyed_tables(scoped) == set()
    assert unkeyed_tables(unscoped) == {"clients.clients"}
    assert unkeyed_tables(child) == set()
    assert unkeyed_tables("SELECT 1 FROM clients.interactions WHERE at > $1") == {"clients.interactions"}


async def test_an_agents_reads_filter_every_candidate_table_by_its_key(
    stack: Stack, api: httpx.AsyncClient, people: People
) -> None:
    client = await create_client(api, people.agent, name="王芳", birth_date="1985-06-12", phone="13812345678")
    await create_client(api, people.agent, name="王芳", birth_date="1985-06-12")
    sample = {
        "path": {
            "client_id": client["id"],
            # Unknown ids: the lookup still runs (and answers 404), which is what is inspected.
            "policy_id": uuid.uuid4(),
            "application_id": uuid.uuid4(),
            "claim_id": uuid.uuid4(),
            "product_id": uuid.uuid4(),
        },
        "phone": "13812345678",
        "name_prefix": "王",
    }
    misses: list[Miss] = []
    routes = 0
    statements = 0
    for _label, app, path in calls(stack.apps, sample):
        if app == "gateway":
            continue
        async with stack.client(app) as http:
            with StatementLog() as log:
                response = await http.get(path, headers=people.agent.headers)
        assert response.status_code < 500, (path, response.text)
        routes += 1
        route = path.split("?")[0].replace(client["id"], "{client_id}")
        for sql, _ in log.statements:
            statements += 1
            misses += [
                Miss(route, table, sql) for table in unkeyed_tables(sql) if (route, table) not in EXCEPTIONS
            ]

    assert routes > 50  # the sweep really ran the apps' queries
    assert statements > routes
    assert misses == [], "\n\n".join(f"{m.route} reads {m.table} without its key:\n{m.sql}" for m in misses)
