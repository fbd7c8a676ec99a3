"""Every app through a real PgBouncer in transaction pooling mode (issue 21, item 2; docs/pgbouncer.md).

The module's own ``stack`` puts every app's engine on a PgBouncer (tests/pgbouncer_support.py) in
front of the test server, with ``CRM_DATABASE_POOLER=pgbouncer``; the tasks service's LISTEN and
the tests' own reads go to the server itself. On it run, unchanged, scenarios of the suite that
cover each kind of database work: creating and finding clients (idempotency keys, a concurrent
duplicate), an application through to an issued policy in force, a claim to paid, a device check,
and the background work under its transaction-level advisory locks (the policy sweep, the tasks
worker's event intake and e-mail outbox, the performance feed, the webhook dispatcher), and the
notification stream. Beside them: proof that the traffic went through the pooler in transaction
mode, that the server connections it shares carry no session state afterwards, and that two
concurrent POSTs with one Idempotency-Key make one client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tests.conftest import People, Stack
from tests.pgbouncer_support import POOL_SIZE, PgBouncer, pgbouncer_binary, pooled_stack, running_pgbouncer

# Scenarios of the suite, run here again with every app behind the pooler (and their fixtures).
from tests.test_claims_workflow import TestClaimWalkedFromReportedToPaid, policy  # noqa: F401
from tests.test_clients_list import TestPagination  # noqa: F401
from tests.test_clients_search import TestCombined, book  # noqa: F401
from tests.test_devices_checks import TestAllGoodCheck  # noqa: F401
from tests.test_platform_idempotency import TestConcurrentDuplicate, TestRetryWithTheSameKey  # noqa: F401
from tests.test_policies_lifecycle import TestDraftToInForce  # noqa: F401
from tests.test_policies_sweep import TestExactlyOnce, clock  # noqa: F401
from tests.test_scorecard_events import TestCountedFromEvents  # noqa: F401
from tests.test_tasks_notifications import TestEmail, TestStream  # noqa: F401
from tests.test_tasks_plans import TestAfterIssue  # noqa: F401
from tests.test_webhooks import TestDelivery, allow_private, dispatcher, receiver  # noqa: F401

pytestmark = pytest.mark.pgbouncer

CLIENTS = "/api/v1/clients"
# Parameters PgBouncer itself sets on a server connection for each client (its tracked ones), and
# ``jit``, which asyncpg's type introspection turns off and back on around its catalog query: in
# autocommit the three may land on different server connections (docs/pgbouncer.md: harmless).
POOLER_SET = {"application_name", "client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings"}
DRIVER_SET = {"jit"}


@pytest.fixture(scope="module")
def bouncer(server_url: str) -> Iterator[PgBouncer]:
    if pgbouncer_binary() is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run installs it)")
    with running_pgbouncer(server_url) as started:
        yield started


@pytest_asyncio.fixture(scope="module")
async def stack(database_url: str, bouncer: PgBouncer) -> AsyncIterator[Stack]:
    """This module's stack: every app on the pooler (overrides the session's direct one)."""
    async with pooled_stack(database_url, bouncer) as pooled:
        yield pooled


def _pool(bouncer: PgBouncer, database: str) -> dict[str, str]:
    return next(row for row in bouncer.show("POOLS") if row["database"] == database)


def _stats(bouncer: PgBouncer, database: str) -> dict[str, str]:
    return next(row for row in bouncer.show("STATS") if row["database"] == database)


class TestTrafficGoesThroughThePooler:
    async def test_every_app_reaches_the_database_through_pgbouncer(
        self, api: httpx.AsyncClient, stack: Stack, bouncer: PgBouncer
    ) -> None:
        for name, app in stack.apps.items():
            assert app.state.engine.url.port == bouncer.port, name
            assert app.state.settings.database_pooler == "pgbouncer"
            ready = await stack.client(name).get("/readyz")
            assert ready.status_code == 200, (name, ready.text)
        database = make_url(stack.database_url).database
        names = {row["application_name"] for row in bouncer.show("CLIENTS") if row["database"] == database}
        assert set(stack.apps) <= names

    async def test_the_pool_is_in_transaction_mode_and_its_server_connections_are_shared(
        self, api: httpx.AsyncClient, people: People, stack: Stack, bouncer: PgBouncer
    ) -> None:
        database = str(make_url(stack.database_url).database)
        before = int(_stats(bouncer, database)["total_xact_count"])
        created = await api.post(
            CLIENTS, json={"name": "王小明", "channel": "warm_market"}, headers=people.agent.headers
        )
        assert created.status_code == 201, created.text
        reads = await asyncio.gather(
            *(api.get(f"{CLIENTS}/{created.json()['id']}", headers=people.agent.headers) for _ in range(30))
        )
        assert {r.status_code for r in reads} == {200}
        assert _pool(bouncer, database)["pool_mode"] == "transaction"
        assert int(_stats(bouncer, database)["total_xact_count"]) > before
        servers = [row for row in bouncer.show("SERVERS") if row["database"] == database]
        clients = [row for row in bouncer.show("CLIENTS") if row["database"] == database]
        assert 0 < len(servers) <= POOL_SIZE
        assert len(clients) > len(servers)  # the apps' pooled connections share fewer server ones


class TestNoSessionState:
    async def test_server_connections_carry_nothing_from_one_transaction_to_the_next(
        self, api: httpx.AsyncClient, people: People, stack: Stack, bouncer: PgBouncer
    ) -> None:
        """After real work (writes, reads in autocommit, advisory locks, NOTIFY), every server
        connection of the pool: no prepared statement, no LISTEN, no advisory lock, no temporary
        table, no setting changed for the session beyond what PgBouncer itself sets (and asyncpg's
        ``jit`` toggle)."""
        created = await api.post(
            CLIENTS,
            json={"name": "李娜", "channel": "cold"},
            headers={**people.agent.headers, "Idempotency-Key": "state-check"},
        )
        assert created.status_code == 201, created.text
        assert (await api.get(CLIENTS, headers=people.agent.headers)).status_code == 200
        sent = await api.post(
            "/api/v1/tasks/notifications",
            json={
                "recipient": {"type": "user", "id": str(people.agent.user_id)},
                "template": "premium_due",
                "channels": ["in_app"],
                "variables": {"policy": "P2026-001", "instalment": "2", "due": "2026-12-20"},
            },
            headers=people.agent.headers,
        )
        assert sent.status_code == 201, sent.text
        assert (await stack.apps["tasks"].state.worker.run_once()).errors == []

        # POOL_SIZE transactions held open together take every server connection the pool has.
        barrier = asyncio.Barrier(POOL_SIZE)
        url = bouncer.url(stack.database_url)

        async def inspect() -> asyncpg.Record:
            conn = await asyncpg.connect(url, statement_cache_size=0)
            try:
                async with conn.transaction():
                    found = await conn.fetchrow(
                        "SELECT pg_backend_pid() AS pid,"
                        " (SELECT count(*) FROM pg_prepared_statements) AS prepared,"
                        " (SELECT count(*) FROM pg_listening_channels()) AS listening,"
                        " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        "   AND pid = pg_backend_pid()) AS advisory,"
                        " (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temp,"
                        " (SELECT array_agg(name::text) FROM pg_settings WHERE source = 'session') AS set"
                    )
                    await barrier.wait()
                    assert found is not None
                    return found
            finally:
                await conn.close()

        seen = await asyncio.wait_for(asyncio.gather(*(inspect() for _ in range(POOL_SIZE))), 60)
        assert len({row["pid"] for row in seen}) == POOL_SIZE
        for row in seen:
            assert (row["prepared"], row["listening"], row["advisory"], row["temp"]) == (0, 0, 0, 0)
            assert set(row["set"] or ()) <= POOLER_SET | DRIVER_SET


class TestConcurrentIdempotentCreate:
    async def test_two_posts_at_once_with_one_key_make_one_client(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": f"both-{uuid.uuid4().hex}"}
        body = {"name": "张伟", "channel": "warm_market"}
        first, second = await asyncio.gather(
            api.post(CLIENTS, json=body, headers=headers), api.post(CLIENTS, json=body, headers=headers)
        )
        statuses = sorted([first.status_code, second.status_code])
        assert statuses in ([201, 201], [201, 409]), (first.text, second.text)
        rows = await stack.fetch("SELECT count(*) AS n FROM clients.clients")
        assert rows[0]["n"] == 1
        if statuses == [201, 201]:  # the second came after the first committed: a replay
            assert first.json()["id"] == second.json()["id"]


class TestSettings:
    POOLER = "postgresql://crm@pgbouncer:6432/crm"
    DIRECT = "postgresql://crm@postgres:5432/crm"

    def test_the_pooler_setting_turns_asyncpg_statement_cache_off(self) -> None:
        from crmkit.db import connect_args
        from services.clients.config import Settings

        pooled = connect_args(Settings(database_url=self.POOLER, database_pooler="pgbouncer"))
        plain = connect_args(Settings(database_url=self.DIRECT))
        assert pooled["statement_cache_size"] == 0
        assert "statement_cache_size" not in plain
        assert pooled["server_settings"] == plain["server_settings"] == {"application_name": "clients"}

    def test_listen_uses_the_direct_url_and_falls_back_to_the_database_url(self) -> None:
        from services.tasks.config import Settings

        both = Settings(database_url=self.POOLER, database_direct_url=self.DIRECT)
        assert both.require_direct_database_url() == self.DIRECT
        assert Settings(database_url=self.DIRECT).require_direct_database_url() == self.DIRECT

    def test_migrations_go_to_the_server_not_the_pooler(self) -> None:
        from launcher import config as launcher_config
        from launcher.apps import ALL_APPS

        by_name = {spec.name: spec for spec in ALL_APPS}
        own = "postgresql://crm@clients-db:5432/clients"
        config = launcher_config.load(
            {
                "CRM_DATABASE_URL": self.POOLER,
                "CRM_DATABASE_DIRECT_URL": self.DIRECT,
                "CLIENTS_DATABASE_DIRECT_URL": own,
            }
        )
        assert config.migration_url_for(by_name["clients"], self.POOLER) == own
        assert config.migration_url_for(by_name["policies"], self.POOLER) == self.DIRECT
        unpooled = launcher_config.load({"CRM_DATABASE_URL": self.DIRECT})
        assert unpooled.migration_url_for(by_name["policies"], self.DIRECT) == self.DIRECT
