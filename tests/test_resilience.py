"""Retries, races and faults: nothing created twice, nothing lost, recovery without a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event, text

from crmkit import db
from crmkit.db import create_engine
from launcher.apps import ROOT
from tests.clients_support import (
    CLIENTS,
    client_body,
    count_clients,
    create_client,
    if_match,
    resident_id,
)
from tests.conftest import People, Stack


class TestConcurrentRetries:
    async def test_twenty_concurrent_creates_with_one_key_store_one_client(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "one-tap-twenty-retries"}
        body = client_body(name="重试客户")
        responses = await asyncio.gather(*(api.post(CLIENTS, json=body, headers=headers) for _ in range(20)))

        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, statuses
        created_ids = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created_ids) == 1  # the first response and its replays name one client
        replays = sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true")
        assert replays + statuses[409] == 19
        assert await count_clients(stack) == 1


class TestConcurrentEdits:
    async def test_two_patches_with_one_if_match_one_wins_one_412_nothing_lost(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="并发编辑")
        headers = if_match(people.agent, client["version"])
        first, second = await asyncio.gather(
            api.patch(f"{CLIENTS}/{client['id']}", json={"occupation": "教师"}, headers=headers),
            api.patch(f"{CLIENTS}/{client['id']}", json={"notes": "另一台设备的修改"}, headers=headers),
        )

        assert sorted([first.status_code, second.status_code]) == [200, 412]
        winner = first if first.status_code == 200 else second
        rows = await stack.fetch(
            "SELECT version, occupation, notes FROM clients.clients WHERE id = $1::uuid", client["id"]
        )
        assert rows[0]["version"] == client["version"] + 1 == winner.json()["version"]
        # The loser's change was refused, not silently merged or overwritten: it can reload and retry.
        assert (rows[0]["occupation"], rows[0]["notes"]) in {("教师", None), (None, "另一台设备的修改")}


class TestDatabaseConnectionsKilled:
    async def test_services_recover_without_a_restart(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="断线恢复")
        assert (await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)).status_code == 200
        database = stack.database_url.rsplit("/", 1)[1].split("?")[0]
        killed = await stack.fetch(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> ''",
            database,
        )
        assert killed, "expected pooled connections to kill"
        # pg_terminate_backend only signals: wait until the backends are gone, so the pooled
        # connections are stale (closed by the server) when the next requests check them out.
        for _ in range(100):
            left = await stack.fetch(
                "SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])", [row["pid"] for row in killed]
            )
            if not left:
                break
            await asyncio.sleep(0.05)

        again = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert again.status_code == 200  # stale pooled connections were replaced at checkout
        created = await api.post(CLIENTS, json=client_body(name="断线之后"), headers=people.agent.headers)
        assert created.status_code == 201


class TestPoolLivenessCheck:
    """A connection back in the pool within ``TRUSTED_FOR_SECONDS`` is lent without a round trip;
    an older one is checked with one ``SELECT 1``; one the server closed is replaced either way."""

    async def test_recent_connections_skip_the_check_old_and_dead_ones_do_not(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sent: list[tuple[asyncpg.Connection, str]] = []
        original = asyncpg.Connection.execute

        async def execute(self: asyncpg.Connection, query: str, *args: object, **kwargs: Any) -> Any:
            sent.append((self, query))
            return await original(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "execute", execute)
        engine = create_engine(stack.apps["clients"].state.settings, pool_size=1, max_overflow=0)
        lent: list[asyncpg.Connection] = []
        returned: list[Any] = []  # the pool's records, as they come back
        event.listen(engine.sync_engine, "checkin", lambda _conn, record: returned.append(record))

        def checks() -> int:  # the liveness checks sent on this engine's connections
            return sum(1 for conn, query in sent if query == "SELECT 1" and conn in lent)

        async def backend() -> int:
            async with engine.connect() as conn:
                lent.append((await conn.get_raw_connection()).driver_connection)
                return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        try:
            first = await backend()
            assert await backend() == first  # lent again at once: no check
            assert checks() == 0

            for record in returned:
                record.info[db._CHECKED_IN_AT] -= db.TRUSTED_FOR_SECONDS + 1
            assert await backend() == first  # idle too long: checked, alive, kept
            assert checks() == 1

            await stack.fetch("SELECT pg_terminate_backend($1::int)", first)
            for _ in range(100):
                if not await stack.fetch("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", first):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)  # the event loop reads the server's goodbye
            assert await backend() != first  # closed by the server: replaced, though recent
        finally:
            await engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RealProcesses:
    """A real gateway and clients service, as uvicorn processes on the test database."""

    env: dict[str, str]
    gateway_port: int
    clients_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start(self, name: str) -> None:
        module, port = {
            "clients": ("services.clients.main:app", self.clients_port),
            "gateway": ("gateway.main:app", self.gateway_port),
        }[name]
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", module, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self, name: str) -> None:
        port = self.clients_port if name == "clients" else self.gateway_port
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{name} did not become ready")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest_asyncio.fixture
async def real_processes(stack: Stack) -> AsyncIterator[RealProcesses]:
    gateway_port, clients_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": stack.database_url,
        "CRM_ENVIRONMENT": "test",
        "CRM_LOG_LEVEL": "WARNING",
        "CRM_CLIENTS_URL": f"http://127.0.0.1:{clients_port}",
        "CRM_IDENTITY_URL": f"http://127.0.0.1:{gateway_port}",
    }
    real = RealProcesses(env=env, gateway_port=gateway_port, clients_port=clients_port)
    try:
        real.start("clients")
        real.start("gateway")
        await real.ready("clients")
        await real.ready("gateway")
        yield real
    finally:
        real.stop_all()


@pytest.mark.slow
class TestServiceProcessKilled:
    async def test_gateway_answers_503_then_recovers_when_it_returns(
        self, api: httpx.AsyncClient, people: People, real_processes: RealProcesses
    ) -> None:
        async with httpx.AsyncClient(base_url=real_processes.gateway, headers=people.agent.headers) as http:
            client = (await http.post(CLIENTS, json=client_body(name="进程被杀"))).json()
            assert (await http.get(f"{CLIENTS}/{client['id']}")).status_code == 200

            real_processes.processes["clients"].kill()  # SIGKILL: no graceful shutdown
            real_processes.processes["clients"].wait(timeout=15)
            down = await http.get(f"{CLIENTS}/{client['id']}")
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"

            real_processes.start("clients")
            await real_processes.ready("clients")
            back = await http.get(f"{CLIENTS}/{client['id']}")
            assert back.status_code == 200
            assert back.json()["name"] == "进程被杀"


class TestPersonalDataNeverInPlaintext:
    async def test_not_in_any_column_nor_in_the_logs(
        self, api: httpx.AsyncClient, people: People, stack: Stack, capfd: pytest.CaptureFixture[str]
    ) -> None:
        number, phone = resident_id("19850612"), "+8613912345678"
        client = await create_client(api, people.agent, name="隐私客户", resident_id=number, phone=phone)
        await api.get(f"{CLIENTS}?phone=%2B8613912345678", headers=people.agent.headers)
        await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        await api.post(CLIENTS, json=client_body(resident_id=number[:-1] + "0"), headers=people.agent.headers)

        columns = await stack.fetch(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema IN ('clients', 'policies', 'claims', 'devices', 'identity')"
            " AND data_type IN ('text', 'character varying', 'bytea', 'jsonb')"
        )
        national = phone.removeprefix("+86")
        for column in columns:
            table = f'"{column["table_schema"]}"."{column["table_name"]}"'
            name = f'"{column["column_name"]}"'
            if column["data_type"] == "bytea":
                contains = f"position(convert_to($1, 'UTF8') IN {name}) > 0"
            else:
                contains = f"strpos({name}::text, $1) > 0"
            for secret in (number[:-1], national):  # the check digit aside, and the national number
                hits = await stack.fetch(f"SELECT count(*) AS n FROM {table} WHERE {contains}", secret)  # noqa: S608
                assert hits[0]["n"] == 0, f"plaintext identifier found in {table}.{name}"
        logged = capfd.readouterr()
        for secret in (number, national):
            assert secret not in logged.out
            assert secret not in logged.err
