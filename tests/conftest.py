"""The whole stack in process, on a real PostgreSQL.

- ``CRM_TEST_DATABASE_URL`` names a server (CI: 127.0.0.1:5432); otherwise the embedded one starts
  under ``.data/test-pg``. Either way the suite creates its own database and drops it at the end:
  the demo data is never touched.
- Migrations run once per session; each test that asks for ``api`` starts on empty tables: the
  tables the previous test wrote to are emptied (``Stack.reset``), not every table.
- The apps talk to each other over HTTP through ``MeshTransport`` (``http://clients.internal``...).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from crmkit import embedded
from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.testing import MeshTransport
from launcher.apps import ALL_APPS, ROOT

TEST_PGDATA = ROOT / ".data" / "test-pg"


def _plain(url: str) -> str:
    """asyncpg wants ``postgresql://``; SQLAlchemy URLs may carry ``+asyncpg``."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    return make_url(_plain(url)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    configured = os.environ.get("CRM_TEST_DATABASE_URL")
    if configured:
        yield _plain(configured)
        return
    server = embedded.start(TEST_PGDATA)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this run, migrated to head for every app."""
    name = f"crm_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        for spec in ALL_APPS:
            upgrade_to_head(spec.migrations_dir, url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


FAST_ARGON2: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
# The webhook dispatcher runs only when a test calls ``run_once()`` (tests/test_webhooks.py).
QUIET_WEBHOOKS: dict[str, Any] = {"webhook_dispatch_interval_seconds": 0}
QUIET_TASKS: dict[str, Any] = {"work_interval_seconds": 0, "stream_heartbeat_seconds": 0.2}
# Every test calls from 127.0.0.1: the per-address limit of anonymous calls (sign-ins, 401 checks)
# would otherwise carry over from test to test. tests/test_gateway_rate_limits.py sets its own.
OPEN_DOOR: dict[str, Any] = {"rate_limit_anonymous": "1000000/minute"}


def build_apps(
    database_url: str,
    mesh: MeshTransport,
    documents_overrides: dict[str, Any] | None = None,
    *,
    service_overrides: dict[str, Any] | None = None,
    common_overrides: dict[str, Any] | None = None,
    **gateway_overrides: Any,
) -> dict[str, FastAPI]:
    """All the apps with test settings, wired to each other through ``mesh``. Documents are kept
    on the local backend in a folder of this run (``documents_overrides`` may name S3 instead).
    ``common_overrides`` go to every app (e.g. the pooler mode, tests/pgbouncer_support.py);
    ``service_overrides`` to every service but not the gateway (e.g. a read replica's URL)."""
    from gateway.config import Settings as GatewaySettings
    from gateway.main import create_app as create_gateway
    from services.claims.config import Settings as ClaimsSettings
    from services.claims.main import create_app as create_claims
    from services.clients.config import Settings as ClientsSettings
    from services.clients.main import create_app as create_clients
    from services.devices.config import Settings as DevicesSettings
    from services.devices.main import create_app as create_devices
    from services.documents.config import Settings as DocumentsSettings
    from services.documents.main import create_app as create_documents
    from services.performance.config import Settings as PerformanceSettings
    from services.performance.main import create_app as create_performance
    from services.policies.config import Settings as PoliciesSettings
    from services.policies.main import create_app as create_policies
    from services.tasks.config import Settings as TasksSettings
    from services.tasks.main import create_app as create_tasks

    common: dict[str, Any] = {
        "database_url": database_url,
        "environment": "test",
        "db_pool_size": 5,
        **(common_overrides or {}),
    }
    topology: dict[str, Any] = {
        f"{s.name}_url": f"http://{s.name}.internal" for s in ALL_APPS if s.name != "gateway"
    }
    peers = {**common, **topology, "identity_url": "http://gateway.internal", **(service_overrides or {})}
    return {
        "gateway": create_gateway(
            GatewaySettings(
                **common, **topology, **FAST_ARGON2, **{**QUIET_WEBHOOKS, **OPEN_DOOR, **gateway_overrides}
            ),
            transport=mesh,
        ),
        "clients": create_clients(ClientsSettings(**peers), transport=mesh),
        # The policy sweep runs only when a test calls ``run_once()`` with a clock of its own.
        "policies": create_policies(PoliciesSettings(**peers, sweep_interval_seconds=0), transport=mesh),
        "claims": create_claims(ClaimsSettings(**peers), transport=mesh),
        "devices": create_devices(DevicesSettings(**peers), transport=mesh),
        "documents": create_documents(
            DocumentsSettings(
                **peers,
                **{
                    "data_dir": ROOT / ".data" / "test-documents" / uuid.uuid4().hex,
                    "purge_interval_seconds": 0,
                    **(documents_overrides or {}),
                },
            ),
            transport=mesh,
        ),
        # The worker runs only when a test calls ``run_once()``; e-mail goes to the test's SMTP server.
        "tasks": create_tasks(TasksSettings(**peers, **QUIET_TASKS), transport=mesh),
        # The event feed is read only when a test calls ``run_once()`` (tests/performance_support.py).
        "performance": create_performance(
            PerformanceSettings(**peers, feed_interval_seconds=0), transport=mesh
        ),
    }


@dataclass
class Stack:
    apps: dict[str, FastAPI]
    mesh: MeshTransport
    database_url: str
    tables: list[str] = field(default_factory=list)
    admin_connection: asyncpg.Connection | None = None

    def client(self, app: str = "gateway", **kwargs: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.apps[app], raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=f"http://{app}.internal", **kwargs)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Read the database directly: to prove what was (or was not) stored."""
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def reset(self) -> None:
        """Empty the tables the previous test wrote to, and only those.

        Why not a rolled-back transaction per test: the five apps are separate applications with
        their own pools, a gateway view fans out to the services concurrently, background work
        (imports, the webhook dispatcher) runs in tasks of its own, and the event outbox reads
        only *committed* transactions; one shared uncommitted connection cannot carry that.
        Why not ``TRUNCATE`` every table: it costs ~150 ms for 45 tables (a new file per table),
        most of the suite's time. Which tables hold rows is one indexed probe (< 1 ms); a
        ``DELETE`` of a handful of small tables costs about as much, with foreign-key triggers off
        for that transaction (every row of each table goes, so nothing is left dangling).
        """
        conn = await self._admin()
        if not self.tables:
            rows = await conn.fetch(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t"
                " FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                " AND table_schema = ANY($1::text[]) AND table_name <> 'alembic_version'",
                [spec.schema for spec in ALL_APPS],
            )
            self.tables = [r["t"] for r in rows]
        # Table names come from the catalog, quoted by quote_ident(): no outside input reaches the SQL.
        probe = " UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT FROM {t})"  # noqa: S608
            for t in self.tables
        )
        written = [r[0] for r in await conn.fetch(probe)]
        if not written:
            return
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                for table in written:
                    await conn.execute(f"DELETE FROM {table}")  # noqa: S608
        except asyncpg.InsufficientPrivilegeError:  # not a superuser: still only the written ones
            await conn.execute(f"TRUNCATE {', '.join(written)} CASCADE")

    async def _admin(self) -> asyncpg.Connection:
        if self.admin_connection is None or self.admin_connection.is_closed():
            self.admin_connection = await asyncpg.connect(self.database_url)
        return self.admin_connection


@contextlib.asynccontextmanager
async def running(apps: dict[str, FastAPI]) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield


@contextlib.asynccontextmanager
async def open_stack(
    database_url: str, *, app_database_url: str | None = None, common: dict[str, Any] | None = None
) -> AsyncIterator[Stack]:
    """Every app running in process; the apps use ``app_database_url`` (a pooler) when given, the
    tests' own reads and resets ``database_url``."""
    mesh = MeshTransport()
    apps = build_apps(app_database_url or database_url, mesh, common_overrides=common)
    for name, app in apps.items():
        # The tasks service's notification stream (Server-Sent Events) flows through the mesh as it
        # would over a network.
        mesh.register(f"{name}.internal", app, streaming=name == "tasks")
    async with running(apps):
        stack = Stack(apps=apps, mesh=mesh, database_url=database_url)
        yield stack
        if stack.admin_connection is not None:
            await stack.admin_connection.close()
    shutil.rmtree(apps["documents"].state.settings.data_dir, ignore_errors=True)


@pytest_asyncio.fixture(scope="session")
async def stack(database_url: str, server_url: str) -> AsyncIterator[Stack]:
    """``CRM_TEST_THROUGH_PGBOUNCER=1``: every app reaches the database through a PgBouncer in
    transaction mode (tests/pgbouncer_support.py), the whole suite with it."""
    if os.environ.get("CRM_TEST_THROUGH_PGBOUNCER", "") not in ("", "0"):
        from tests.pgbouncer_support import pooled_stack, running_pgbouncer

        with running_pgbouncer(server_url) as bouncer:
            async with pooled_stack(database_url, bouncer) as pooled:
                yield pooled
        return
    async with open_stack(database_url) as plain:
        yield plain


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The public entry point (the gateway), on empty tables."""
    await stack.reset()
    # The reset writes with triggers off, so no change is signalled: the agendas kept go as well.
    stack.apps["gateway"].state.agenda_cache.forget_all()
    stack.mesh.down.clear()
    storage = stack.apps["documents"].state.storage  # documents' objects, like their rows
    for key in await storage.keys():
        await storage.delete(key)
    async with stack.client("gateway") as client:
        yield client


@dataclass
class Person:
    user_id: uuid.UUID
    email: str
    password: str
    role: Role
    team_id: uuid.UUID | None
    token: str
    location: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class People:
    """Team North (Pudong office): lead + two agents; team South (Xuhui office): one agent;
    an admin; an ops user."""

    lead: Person
    agent: Person
    colleague: Person
    outsider: Person
    admin: Person
    ops: Person
    north_team_id: uuid.UUID
    south_team_id: uuid.UUID


PASSWORD = "correct horse battery staple"
PUDONG = "浦东办公室"  # where team North works
XUHUI = "徐汇办公室"  # where team South works


@pytest_asyncio.fixture
async def people(stack: Stack, api: httpx.AsyncClient) -> People:
    from gateway.identity import service as identity

    gateway = stack.apps["gateway"]
    settings = gateway.state.settings
    async with gateway.state.sessions() as session:
        north = await identity.create_team(session=session, name="North")
        south = await identity.create_team(session=session, name="South")
        made: dict[str, Person] = {}
        for key, role, team, location in (
            ("lead", Role.TEAM_LEAD, north.id, PUDONG),
            ("agent", Role.AGENT, north.id, PUDONG),
            ("colleague", Role.AGENT, north.id, PUDONG),
            ("outsider", Role.AGENT, south.id, XUHUI),
            ("admin", Role.ADMIN, None, None),
            ("ops", Role.OPS, None, None),
        ):
            email = f"{key}@example.com"
            user = await identity.create_user(
                session=session,
                settings=settings,
                email=email,
                password=PASSWORD,
                full_name=key.title(),
                role=role,
                team_id=team,
                location=location,
            )
            token = issue_access_token(settings, user_id=user.id, role=role, team_id=team, location=location)
            made[key] = Person(user.id, email, PASSWORD, role, team, token, location)
        await session.commit()
    return People(**made, north_team_id=north.id, south_team_id=south.id)
