"""Every query a user can trigger, timed through the apps and explained in PostgreSQL.

The apps run in this process (the same code and asyncpg pools as in production, behind
``httpx.ASGITransport``; the gateway reaches the services over ``crmkit.testing.MeshTransport``).
Each GET route of the clients, policies and claims apps is called as an agent, a team lead and an
admin (path ids filled with real rows of that agent; routes with other path parameters are left
out), plus the searches with their parameters and the gateway's agenda. While one call of each
runs, ``StatementLog`` captures the statements the app sent; each read statement is then run again
under ``EXPLAIN (ANALYZE, BUFFERS)`` with the same parameters. A plan that reads a big table with a
sequential scan is flagged: every such query grows with the book.
"""

from __future__ import annotations

import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from bench.dataset import Agent
from crmkit.auth import Role, issue_access_token
from crmkit.crypto import FieldCipher
from crmkit.settings import DEV_FIELD_KEY
from crmkit.testing import MeshTransport, StatementLog
from launcher.throwaway import plain

# The tables that grow with the book (a sequential scan of one is a query that is not flat).
BIG_TABLES = frozenset({"clients", "policies", "applications", "premium_dues", "claims"})
SWEPT_APPS = ("clients", "policies", "claims")
ROLES = (Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)
_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
_EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")
_WRITES = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\w|DELETE\s+FROM|FOR\s+UPDATE|FOR\s+SHARE)\b", re.I)


@dataclass
class Statement:
    sql: str
    execution_ms: float
    seq_scans: list[str]
    plan: str


@dataclass
class Measured:
    label: str
    app: str
    path: str
    role: str
    status: int
    p50_ms: float
    statements: list[Statement] = field(default_factory=list)

    @property
    def seq_scans(self) -> list[str]:
        return sorted({t for s in self.statements for t in s.seq_scans})

    @property
    def slowest_statement_ms(self) -> float:
        return max((s.execution_ms for s in self.statements), default=0.0)


def build_apps(url: str, mesh: MeshTransport) -> dict[str, FastAPI]:
    """The apps the queries run in, with their background work off (as ``tests/conftest.py``)."""
    from gateway.config import Settings as GatewaySettings
    from gateway.main import create_app as create_gateway
    from services.claims.config import Settings as ClaimsSettings
    from services.claims.main import create_app as create_claims
    from services.clients.config import Settings as ClientsSettings
    from services.clients.main import create_app as create_clients
    from services.devices.config import Settings as DevicesSettings
    from services.devices.main import create_app as create_devices
    from services.performance.config import Settings as PerformanceSettings
    from services.performance.main import create_app as create_performance
    from services.policies.config import Settings as PoliciesSettings
    from services.policies.main import create_app as create_policies
    from services.tasks.config import Settings as TasksSettings
    from services.tasks.main import create_app as create_tasks

    common: dict[str, Any] = {
        "database_url": url,
        "environment": "test",
        "db_pool_size": 5,
        "log_level": "WARNING",
    }
    names = ("clients", "policies", "claims", "devices", "documents", "tasks", "performance")
    topology: dict[str, Any] = {f"{name}_url": f"http://{name}.internal" for name in names}
    peers = {**common, **topology, "identity_url": "http://gateway.internal"}
    apps = {
        "gateway": create_gateway(
            GatewaySettings(
                **common,
                **topology,
                webhook_dispatch_interval_seconds=0,
                rate_limit_anonymous="1000000/minute",
                rate_limit="100000000/minute",
            ),
            transport=mesh,
        ),
        "clients": create_clients(ClientsSettings(**peers), transport=mesh),
        "policies": create_policies(PoliciesSettings(**peers, sweep_interval_seconds=0), transport=mesh),
        "claims": create_claims(ClaimsSettings(**peers), transport=mesh),
        "devices": create_devices(DevicesSettings(**peers), transport=mesh),
        "tasks": create_tasks(TasksSettings(**peers, work_interval_seconds=0), transport=mesh),
        "performance": create_performance(
            PerformanceSettings(**peers, feed_interval_seconds=0), transport=mesh
        ),
    }
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app)
    return apps


async def sample_ids(url: str, agent: Agent) -> dict[str, Any]:
    """Real ids of this agent's rows, for the routes' path parameters, and a phone to search for."""
    conn = await asyncpg.connect(plain(url))
    try:
        client = await conn.fetchrow(
            "SELECT c.id, c.phone_cipher, c.name FROM clients.clients c"
            " JOIN policies.policies p ON p.client_id = c.id"
            " JOIN claims.claims k ON k.policy_id = p.id WHERE c.owner_agent_id = $1 LIMIT 1",
            agent.user_id,
        )
        if client is None:
            client = await conn.fetchrow(
                "SELECT id, phone_cipher, name FROM clients.clients WHERE owner_agent_id = $1 LIMIT 1",
                agent.user_id,
            )
        ids: dict[str, Any] = {"client_id": client["id"]}
        for name, sql in (
            ("policy_id", "SELECT id FROM policies.policies WHERE client_id = $1 LIMIT 1"),
            ("application_id", "SELECT id FROM policies.applications WHERE client_id = $1 LIMIT 1"),
            ("claim_id", "SELECT id FROM claims.claims WHERE client_id = $1 LIMIT 1"),
        ):
            value = await conn.fetchval(sql, client["id"])
            if value is not None:
                ids[name] = value
        ids["product_id"] = await conn.fetchval("SELECT id FROM policies.products LIMIT 1")
    finally:
        await conn.close()
    phone = FieldCipher(DEV_FIELD_KEY).decrypt(client["phone_cipher"], context="clients.phone")
    return {"path": ids, "phone": phone, "name_prefix": client["name"][:2]}


def calls(apps: dict[str, FastAPI], sample: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(label, app, path with query)``: the searches first, then every GET route that needs no ids
    but the sampled ones."""
    ids = {k: str(v) for k, v in sample["path"].items()}
    client = ids["client_id"]
    phone = str(httpx.QueryParams({"phone": sample["phone"]}))
    named = str(httpx.QueryParams({"name_prefix": sample["name_prefix"]}))
    found: list[tuple[str, str, str]] = [
        ("list 50, filtered (channel)", "clients", "/api/v1/clients?limit=50&channel=referral"),
        ("list 50, newest", "clients", "/api/v1/clients?limit=50"),
        ("search: name prefix", "clients", f"/api/v1/clients?limit=50&{named}"),
        ("search: phone (keyed hash)", "clients", f"/api/v1/clients?limit=50&{phone}"),
        ("GET client by id", "clients", f"/api/v1/clients/{client}"),
        ("agenda (gateway fan-out)", "gateway", "/api/v1/agenda"),
        ("duplicates", "clients", "/api/v1/clients/duplicates"),
    ]
    seen = {path.split("?")[0] for _, _, path in found}
    for app_name in SWEPT_APPS:
        for path, operations in apps[app_name].openapi()["paths"].items():
            if "get" not in operations:
                continue
            try:
                concrete = path.format(**ids)
            except KeyError:
                continue  # a path id this sweep has no sample for (a proposal, an event, ...)
            if concrete in seen or not path.startswith("/api/v1/"):
                continue
            seen.add(concrete)
            found.append((f"GET {path}", app_name, concrete))
    return found


def _parameters(raw: Any) -> list[Any]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        return list(raw.values())
    return list(raw)


async def explain(conn: asyncpg.Connection, sql: str, parameters: Any) -> Statement | None:
    """The statement's plan as it ran (read statements only; nothing is written)."""
    if not re.match(r"\s*(SELECT|WITH)\b", sql, re.I) or _WRITES.search(sql):
        return None
    try:
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *_parameters(parameters))
    except asyncpg.PostgresError as error:
        return Statement(sql=sql, execution_ms=0.0, seq_scans=[], plan=f"(not explained: {error})")
    plan = "\n".join(r[0] for r in rows)
    found = _EXECUTION.search(plan)
    return Statement(
        sql=sql,
        execution_ms=float(found.group(1)) if found else 0.0,
        seq_scans=sorted({t for t in _SEQ_SCAN.findall(plan) if t in BIG_TABLES}),
        plan=plan,
    )


async def measure(
    url: str, agent: Agent, *, repeats: int = 3, only: tuple[str, ...] = (), roles: tuple[Role, ...] = ROLES
) -> list[Measured]:
    """Every call (or those whose label contains one of ``only``), as each role: median latency
    through the app, and each statement's plan."""
    from contextlib import AsyncExitStack

    mesh = MeshTransport()
    apps = build_apps(url, mesh)
    sample = await sample_ids(url, agent)
    settings = apps["clients"].state.settings
    tokens = {
        role: issue_access_token(
            settings,
            user_id=agent.user_id if role is Role.AGENT else uuid.uuid4(),
            role=role,
            team_id=None if role is Role.ADMIN else agent.team_id,
            ttl=timedelta(hours=2),
        )
        for role in ROLES
    }
    results: list[Measured] = []
    conn = await asyncpg.connect(plain(url))
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        for label, app_name, path in calls(apps, sample):
            if only and not any(part in label for part in only):
                continue
            for role in roles:
                if app_name == "gateway" and role is not Role.AGENT:
                    continue  # the agenda is the agent's own day
                transport = httpx.ASGITransport(app=apps[app_name], raise_app_exceptions=False)
                async with httpx.AsyncClient(
                    transport=transport,
                    base_url=f"http://{app_name}.internal",
                    headers={"Authorization": f"Bearer {tokens[role]}"},
                    timeout=300,
                ) as http:
                    await http.get(path)  # warm the pool and the caches
                    with StatementLog() as log:
                        response = await http.get(path)
                    took = []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        await http.get(path)
                        took.append((time.perf_counter() - started) * 1000)
                measured = Measured(
                    label=label,
                    app=app_name,
                    path=path,
                    role=role.value,
                    status=response.status_code,
                    p50_ms=round(statistics.median(took), 2),
                )
                for sql, parameters in log.statements:
                    statement = await explain(conn, sql, parameters)
                    if statement is not None:
                        measured.statements.append(statement)
                results.append(measured)
    await conn.close()
    return results


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def save_plans(results: list[Measured], folder: Path, *, headline: int) -> None:
    """One text file per headline call and per call whose plans scan a big table; a summary of all.

    ``headline``: how many of the first calls (``calls()`` puts the searches first) always get a
    file. Parameters are not written (they are personal data in the searches)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    labels = list(dict.fromkeys(r.label for r in results))[:headline]
    summary = [
        "call | role | status | p50 ms (app) | statements | slowest statement ms | seq scans (big tables)"
    ]
    for r in results:
        summary.append(
            f"{r.label} | {r.role} | {r.status} | {r.p50_ms:.2f} | {len(r.statements)} | "
            f"{r.slowest_statement_ms:.2f} | {', '.join(r.seq_scans) or '-'}"
        )
        if r.label not in labels and not r.seq_scans:
            continue
        body = [
            f"# {r.label} as {r.role}: {r.app} {r.path.split('?')[0]} -> {r.status}, p50 {r.p50_ms} ms",
            "",
        ]
        for i, s in enumerate(r.statements, 1):
            body += [f"## statement {i} ({s.execution_ms:.2f} ms)", s.sql.strip(), "", s.plan, ""]
        (folder / f"{_slug(r.label)}--{r.role}.txt").write_text("\n".join(body))
    (folder / "summary.txt").write_text("\n".join(summary) + "\n")


def as_json(results: list[Measured]) -> list[dict[str, Any]]:
    return [
        {
            "label": r.label,
            "role": r.role,
            "path": r.path.split("?")[0],
            "status": r.status,
            "p50_ms": r.p50_ms,
            "statements": len(r.statements),
            "slowest_statement_ms": r.slowest_statement_ms,
            "seq_scans": r.seq_scans,
        }
        for r in results
    ]


async def first_agent(url: str) -> Agent:
    """The agent a kept bench database's measurements use: the owner of its oldest client."""
    conn = await asyncpg.connect(plain(url))
    try:
        row = await conn.fetchrow(
            "SELECT owner_agent_id, team_id FROM clients.clients ORDER BY created_at, id LIMIT 1"
        )
    finally:
        await conn.close()
    return Agent(user_id=row["owner_agent_id"], team_id=row["team_id"])


def main() -> None:
    """``python -m bench.plans --url URL [--only TEXT]... [--role admin]``: measure chosen calls on a
    database a bench run kept (``python -m bench.million --keep``), print each statement's time and
    plan."""
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(prog="python -m bench.plans", description=main.__doc__)
    parser.add_argument("--url", required=True, help="a kept bench database")
    parser.add_argument("--only", action="append", default=[], help="part of a call's label (repeatable)")
    parser.add_argument("--role", action="append", default=[], choices=[r.value for r in ROLES])
    parser.add_argument("--plans", action="store_true", help="print every statement's plan")
    args = parser.parse_args()
    roles = tuple(Role(r) for r in args.role) or ROLES
    agent = asyncio.run(first_agent(args.url))
    results = asyncio.run(measure(args.url, agent, only=tuple(args.only), roles=roles))
    for r in results:
        print(
            f"{r.label} | {r.role} | {r.status} | p50 {r.p50_ms:.2f} ms | slowest statement "
            f"{r.slowest_statement_ms:.2f} ms | seq scans: {', '.join(r.seq_scans) or '-'}"
        )
        if args.plans:
            for s in r.statements:
                print(f"  -- {s.execution_ms:.2f} ms\n  {s.sql.strip()}\n{s.plan}\n")


if __name__ == "__main__":
    main()
