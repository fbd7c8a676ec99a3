"""Heavy reads on a real streaming replica (issue 21, item 3), read-your-writes, and the fallback.

The apps run in process on a primary + hot standby pair of their own (tests/replica_support.py),
built on the primary's URL with ``database_replica_url`` naming the standby. Where a read was
answered is proven twice: by the ``db_heavy_reads_total`` metric of the service, and by the
service's own connections (``application_name``) in the standby's ``pg_stat_activity``. Lag is
made deterministic by pausing WAL replay on the standby (``pg_wal_replay_pause()``), never by timing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.replicas import READ_AFTER_HEADER
from crmkit.testing import MeshTransport
from launcher.apps import ALL_APPS
from tests.clients_support import CLIENTS, create_client
from tests.conftest import PASSWORD, PUDONG, Person, Stack, build_apps, running
from tests.replica_support import ReplicaPair, replica_pair_fixture  # noqa: F401  (the fixture)


async def _replayed(pair: ReplicaPair, database: str) -> None:
    """Wait until the standby has replayed everything the primary wrote so far (setup only)."""
    primary = await asyncpg.connect(pair.primary.url(database))
    standby = await asyncpg.connect(pair.replica.url(database))
    try:
        lsn = await primary.fetchval("SELECT pg_current_wal_lsn()")
        for _ in range(2000):
            if await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn):
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the standby did not catch up")
    finally:
        await primary.close()
        await standby.close()


@pytest_asyncio.fixture(scope="module")
async def replica_stack(replica_pair: ReplicaPair) -> AsyncIterator[Stack]:
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(replica_pair.primary.url())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    primary_url = replica_pair.primary.url(name)
    for spec in ALL_APPS:  # migrations run on the primary only; the standby replays them
        await asyncio.to_thread(upgrade_to_head, spec.migrations_dir, primary_url)
    await _replayed(replica_pair, name)
    mesh = MeshTransport()
    apps = build_apps(
        primary_url,
        mesh,
        service_overrides={
            "database_replica_url": replica_pair.replica.url(name),
            "replica_max_wait_seconds": 0.2,
        },
    )
    for app_name, app in apps.items():
        mesh.register(f"{app_name}.internal", app, streaming=app_name == "tasks")
    async with running(apps):
        stack = Stack(apps=apps, mesh=mesh, database_url=primary_url)
        yield stack
        if stack.admin_connection is not None:
            await stack.admin_connection.close()


@pytest_asyncio.fixture
async def api(replica_stack: Stack, replica_pair: ReplicaPair) -> AsyncIterator[httpx.AsyncClient]:
    await replica_stack.reset()
    replica_stack.apps["clients"].state.read_routing.fences.clear()
    await _replayed(replica_pair, replica_stack.database_url.rsplit("/", 1)[1])
    async with replica_stack.client("gateway") as client:
        yield client


async def _person(stack: Stack, key: str, role: Role, team_id: uuid.UUID | None) -> Person:
    from gateway.identity import service as identity

    gateway = stack.apps["gateway"]
    settings = gateway.state.settings
    async with gateway.state.sessions() as session:
        user = await identity.create_user(
            session=session,
            settings=settings,
            email=f"{key}-{uuid.uuid4().hex[:6]}@example.com",
            password=PASSWORD,
            full_name=key.title(),
            role=role,
            team_id=team_id,
            location=PUDONG,
        )
        await session.commit()
    token = issue_access_token(settings, user_id=user.id, role=role, team_id=team_id, location=PUDONG)
    return Person(user.id, user.email, PASSWORD, role, team_id, token, PUDONG)


@pytest_asyncio.fixture
async def team(replica_stack: Stack, api: httpx.AsyncClient) -> dict[str, Person]:
    """An agent and the lead of the agent's team (the lead sees the agent's clients)."""
    from gateway.identity import service as identity

    async with replica_stack.apps["gateway"].state.sessions() as session:
        north = await identity.create_team(session=session, name="North")
        await session.commit()
    return {
        "agent": await _person(replica_stack, "agent", Role.AGENT, north.id),
        "lead": await _person(replica_stack, "lead", Role.TEAM_LEAD, north.id),
    }


async def heavy_reads(stack: Stack, service: str = "clients") -> dict[tuple[str, str], float]:
    """``db_heavy_reads_total`` of one service, by (target, reason), read from its /metrics."""
    async with stack.client(service) as client:
        text = (await client.get("/metrics")).text
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "db_heavy_reads":
            for sample in family.samples:
                if sample.name == "db_heavy_reads_total":
                    counts[(sample.labels["target"], sample.labels["reason"])] = sample.value
    return counts


def grew(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]) -> dict[str, float]:
    keys = set(before) | set(after)
    return {
        f"{t}/{r}" if r else t: after.get((t, r), 0) - before.get((t, r), 0)
        for t, r in keys
        if after.get((t, r), 0) != before.get((t, r), 0)
    }


async def standby_backends(pair: ReplicaPair, application: str) -> int:
    conn = await asyncpg.connect(pair.replica.url())
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = $1 AND backend_type = 'client backend'",
                application,
            )
        )
    finally:
        await conn.close()


async def names_listed(api: httpx.AsyncClient, person: Person) -> list[str]:
    response = await api.get(CLIENTS, headers=person.headers)
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["items"]]


async def set_replay(pair: ReplicaPair, *, paused: bool) -> None:
    conn = await asyncpg.connect(pair.replica.url())
    try:
        await conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
    finally:
        await conn.close()


@pytest.fixture
def paused_replay(replica_pair: ReplicaPair) -> Any:
    """The standby stops replaying for the test: it lags as far behind as the test writes."""

    class Pause:
        async def __aenter__(self) -> None:
            await set_replay(replica_pair, paused=True)

        async def __aexit__(self, *exc: object) -> None:
            await set_replay(replica_pair, paused=False)

    return Pause()


class TestHeavyReadsGoToTheReplica:
    async def test_lists_search_agenda_report_export_and_changes_are_answered_by_the_standby(
        self, replica_stack: Stack, replica_pair: ReplicaPair, api: httpx.AsyncClient, team: dict[str, Person]
    ) -> None:
        agent, lead = team["agent"], team["lead"]
        await create_client(api, agent, name="Li Lei")
        before = await heavy_reads(replica_stack)
        for path, person in (
            (CLIENTS, agent),
            (f"{CLIENTS}?name_prefix=Li", agent),
            (f"{CLIENTS}/agenda-lists", agent),
            (f"{CLIENTS}/follow-ups", agent),
            (f"{CLIENTS}/reports/business", lead),
            (f"{CLIENTS}/export", agent),
            (f"{CLIENTS}/changes", agent),
        ):
            response = await api.get(path, headers=person.headers)
            assert response.status_code == 200, (path, response.text)
        changes = (await api.get(f"{CLIENTS}/changes", headers=agent.headers)).json()
        assert [c["data"]["name"] for c in changes["items"]] == ["Li Lei"]
        assert grew(before, await heavy_reads(replica_stack)) == {"replica": 8}
        assert await standby_backends(replica_pair, "clients") >= 1

    async def test_a_read_by_id_and_every_write_stay_on_the_primary(
        self, replica_stack: Stack, api: httpx.AsyncClient, team: dict[str, Person]
    ) -> None:
        agent = team["agent"]
        before = await heavy_reads(replica_stack)
        created = await create_client(api, agent, name="Han Meimei")
        response = await api.get(f"{CLIENTS}/{created['id']}", headers=agent.headers)
        assert response.status_code == 200
        assert grew(before, await heavy_reads(replica_stack)) == {}

    async def test_the_standby_is_reported_in_readiness(self, replica_stack: Stack) -> None:
        async with replica_stack.client("clients") as client:
            body = (await client.get("/readyz")).json()
        assert body["status"] == "ok"
        assert body["checks"]["replica"]["status"] == "ok"
        assert body["checks"]["replica"]["standby"] is True


class TestReadYourWrites:
    async def test_a_writer_sees_its_new_client_at_once_while_the_standby_lags(
        self,
        replica_stack: Stack,
        api: httpx.AsyncClient,
        team: dict[str, Person],
        paused_replay: Any,
    ) -> None:
        agent, lead = team["agent"], team["lead"]
        async with paused_replay:
            before = await heavy_reads(replica_stack)
            await create_client(api, agent, name="Zhou Xun")
            assert await names_listed(api, agent) == ["Zhou Xun"]  # the writer: from the primary
            assert await names_listed(api, lead) == []  # no write of the lead's: the lagging standby
            assert grew(before, await heavy_reads(replica_stack)) == {"primary/behind": 1, "replica": 1}
        await _replayed_stack(replica_stack)
        before = await heavy_reads(replica_stack)
        assert await names_listed(api, agent) == ["Zhou Xun"]
        assert await names_listed(api, lead) == ["Zhou Xun"]
        assert grew(before, await heavy_reads(replica_stack)) == {"replica": 2}

    async def test_the_write_answers_a_fence_that_holds_in_another_process(
        self,
        replica_stack: Stack,
        api: httpx.AsyncClient,
        team: dict[str, Person],
        paused_replay: Any,
    ) -> None:
        agent, lead = team["agent"], team["lead"]
        routing = replica_stack.apps["clients"].state.read_routing
        async with paused_replay:
            response = await api.post(
                CLIENTS, json={"name": "Sun Li", "channel": "warm_market"}, headers=agent.headers
            )
            assert response.status_code == 201
            fence = response.headers[READ_AFTER_HEADER]  # through the gateway
            assert fence.startswith("clients:")
            routing.fences.clear()  # another process of the service: it has not seen the write
            assert await names_listed(api, agent) == []  # without the header: the lagging standby
            with_fence = await api.get(CLIENTS, headers={**agent.headers, READ_AFTER_HEADER: fence})
            assert [c["name"] for c in with_fence.json()["items"]] == ["Sun Li"]
            # The fence is signed for its principal: another caller cannot use (or forge) it.
            borrowed = await api.get(CLIENTS, headers={**lead.headers, READ_AFTER_HEADER: fence})
            assert borrowed.json()["items"] == []
            forged = fence.rsplit(":", 1)[0] + ":AAAAAAAAAAAAAAAA"
            with_forged = await api.get(CLIENTS, headers={**agent.headers, READ_AFTER_HEADER: forged})
            assert with_forged.json()["items"] == []

    async def test_a_changes_cursor_ahead_of_the_standby_is_answered_by_the_primary(
        self,
        replica_stack: Stack,
        api: httpx.AsyncClient,
        team: dict[str, Person],
        paused_replay: Any,
    ) -> None:
        agent = team["agent"]
        async with paused_replay:
            await create_client(api, agent, name="Qian Kun")
            first = await api.get(f"{CLIENTS}/changes", headers=agent.headers)  # the writer: the primary
            assert [c["data"]["name"] for c in first.json()["items"]] == ["Qian Kun"]
            replica_stack.apps["clients"].state.read_routing.fences.clear()  # the next call: another process
            before = await heavy_reads(replica_stack)
            again = await api.get(
                f"{CLIENTS}/changes", params={"since": first.json()["next_cursor"]}, headers=agent.headers
            )
            assert again.status_code == 200, again.text  # not "a cursor from the future" (422)
            assert again.json()["items"] == []
            assert grew(before, await heavy_reads(replica_stack)) == {"replica": 1, "primary/behind": 1}


async def _replayed_stack(stack: Stack) -> None:
    url = stack.database_url
    primary = await asyncpg.connect(url)
    try:
        lsn = await primary.fetchval("SELECT pg_current_wal_lsn()")
    finally:
        await primary.close()
    routing = stack.apps["clients"].state.read_routing
    assert routing.engine is not None
    for _ in range(2000):
        async with routing.engine.connect() as conn:
            if await conn.scalar(text("SELECT pg_last_wal_replay_lsn() >= CAST(:l AS pg_lsn)"), {"l": lsn}):
                return
        await asyncio.sleep(0.005)
    raise AssertionError("the standby did not catch up")


class TestTheStandbyGoesAway:
    async def test_heavy_reads_fall_back_to_the_primary_and_return_when_it_is_back(
        self,
        replica_stack: Stack,
        replica_pair: ReplicaPair,
        api: httpx.AsyncClient,
        team: dict[str, Person],
    ) -> None:
        agent = team["agent"]
        await create_client(api, agent, name="Wu Di")
        await _replayed_stack(replica_stack)
        await asyncio.to_thread(replica_pair.replica.stop)
        try:
            before = await heavy_reads(replica_stack)
            assert await names_listed(api, agent) == ["Wu Di"]
            assert await names_listed(api, agent) == ["Wu Di"]
            export = await api.get(f"{CLIENTS}/export", headers=agent.headers)
            assert export.status_code == 200
            assert "Wu Di" in export.text
            assert grew(before, await heavy_reads(replica_stack)) == {"primary/unavailable": 3}
            async with replica_stack.client("clients") as client:
                ready = await client.get("/readyz")
            assert ready.status_code == 200  # still in rotation
            assert ready.json()["checks"]["replica"]["status"] == "degraded"
        finally:
            await asyncio.to_thread(replica_pair.replica.start)
        # The readiness probe (Kubernetes calls it every few seconds) finds the standby back.
        async with replica_stack.client("clients") as client:
            ready = await client.get("/readyz")
        assert ready.json()["checks"]["replica"]["status"] == "ok"
        before = await heavy_reads(replica_stack)
        assert await names_listed(api, agent) == ["Wu Di"]
        assert grew(before, await heavy_reads(replica_stack)) == {"replica": 1}
