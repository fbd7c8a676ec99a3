"""Two processes of every app and two gateways, as real processes on one fresh database (issue 21).

Two launchers (``launcher.throwaway.running_stacks``) on offset ports share a database; every app is
told both replicas of every other app (comma-separated URLs, crmkit/balancing.py), the gateways
count rate limits in Redis under a prefix of this run. The test proves:

- the background jobs do their work once, although two processes of each run their loops on the
  same rows: one webhook delivery per event (a receiver here), one count per event in the
  performance counters, one reminder per task coming due and one e-mail per reminder (an SMTP
  server here), one policy-sweep transition (its audit row, which is its event) per policy, one
  action plan per issued policy;
- the anonymous rate limit holds across both gateways (their sum stays within the limit);
- a rolling restart under a steady mix of GETs and keyed POSTs loses no request: each side's
  processes get SIGTERM together (so every app keeps one replica up), their launcher starts them
  again, the test waits until they are ready, then the other side. Every answer is 2xx, and every
  keyed POST created its row once. The test's client stands in for the load balancer in front of
  the gateways (an Ingress or Service) with the same balancing transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import itertools
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from crmkit.auth import decode_access_token
from crmkit.balancing import balanced
from crmkit.migrations import upgrade_to_head
from gateway.bootstrap import ensure_admin
from gateway.config import Settings as GatewaySettings
from gateway.webhooks.signing import EVENT_ID_HEADER
from launcher import throwaway
from launcher.apps import ALL_APPS, GATEWAY, ROOT, SERVICES
from tests.clients_support import client_body
from tests.conftest import People, Person
from tests.lifecycle_support import issued, product_with_terms
from tests.tasks_support import Inbox, free_port

pytestmark = pytest.mark.slow

OFFSETS = (13000, 14000)
"""Two sides, A and B: gateways on 21000 and 22000, services on 21101... and 22101... (below the
ephemeral ports, 32768 and up, which outgoing connections may hold)."""
STARTUP_TIMEOUT = 480.0
"""Both stacks, migrations included, on a busy two-core machine."""
REDIS_URL = "redis://127.0.0.1:6379/0"
ANONYMOUS_LIMIT = 20
ADMIN = ("admin@replicas.test", "replicas-admin-password")
AGENT = ("agent@replicas.test", "replicas-agent-password")
SETUP_CLIENTS = 6
SETUP_TASKS = 4
SETUP_POLICIES = 3
EFFECTS_TIMEOUT = 60.0
SETTLE_SECONDS = 3.0
"""After the effects appear: several more rounds of every loop (0.5 s apart) that must add nothing."""
RESTART_TIMEOUT = 300.0
LOAD_WORKERS = 4
PROBE_PATHS = (
    "/api/v1/clients?limit=5",
    "/api/v1/policies/applications?limit=5",
    "/api/v1/claims?limit=5",
    "/api/v1/devices?limit=5",
    "/api/v1/documents?record_type=client&record_id={client}&limit=5",  # asks clients (a peer call)
    "/api/v1/tasks?limit=5",
    "/api/v1/performance/goals?limit=5",
)
"""One GET per service, so that every app's restart is under load; ``{client}`` is a client's id."""


def url(spec_port: int, offset: int) -> str:
    return f"http://127.0.0.1:{spec_port + offset}"


def topology(own: int) -> dict[str, str]:
    """Every app told both replicas of every app it calls, its own side's first (its address)."""
    offsets = sorted(OFFSETS, key=lambda offset: offset != own)
    env: dict[str, str] = {}
    for caller in ALL_APPS:
        for callee in (*SERVICES, GATEWAY):
            name = "IDENTITY" if callee is GATEWAY else callee.name.upper()
            env[f"{caller.env_prefix}{name}_URL"] = ",".join(url(callee.port, o) for o in offsets)
    return env


# --- the things the test listens with ------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook target: every request's event id, in arrival order."""

    event_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.event_ids.append(self.headers.get(EVENT_ID_HEADER, ""))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    name = f"crm_replicas_{uuid.uuid4().hex[:10]}"
    database = throwaway.recreate_database(server_url, name)
    try:
        for spec in ALL_APPS:  # once, before both launchers (theirs are then no-ops)
            upgrade_to_head(spec.migrations_dir, database)
        yield database
    finally:
        throwaway.drop_database(server_url, name)


def rows(database: str, sql: str) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def wait_for(what: str, check: Any, timeout: float = EFFECTS_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.3)


# --- the test --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replicas(server_url: str) -> Iterator[dict[str, Any]]:
    prefix = f"crm-test-replicas-{uuid.uuid4().hex[:12]}"
    documents_dir = ROOT / ".data" / "replicas-documents"
    with (
        fresh_database(server_url) as database,
        webhook_receiver() as receiver,
        smtp_inbox() as (inbox, smtp_port),
    ):
        shared = {
            "GATEWAY_REDIS_URL": REDIS_URL,
            "GATEWAY_RATE_LIMIT_KEY_PREFIX": prefix,
            "GATEWAY_RATE_LIMIT": "100000/minute",
            "GATEWAY_RATE_LIMIT_ANONYMOUS": f"{ANONYMOUS_LIMIT}/hour",
            "GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "GATEWAY_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.5",
            "GATEWAY_ARGON2_TIME_COST": "1",
            "GATEWAY_ARGON2_MEMORY_KIB": "1024",
            "GATEWAY_ARGON2_PARALLELISM": "1",
            "TASKS_WORK_INTERVAL_SECONDS": "0.5",
            "TASKS_SMTP_HOST": "127.0.0.1",
            "TASKS_SMTP_PORT": str(smtp_port),
            "PERFORMANCE_FEED_INTERVAL_SECONDS": "0.5",
            "POLICIES_SWEEP_INTERVAL_SECONDS": "1",
            "DOCUMENTS_DATA_DIR": str(documents_dir),  # both replicas see the same files
            "CRM_READY_TIMEOUT": str(int(STARTUP_TIMEOUT)),
            # Sixteen processes on one server (100 connections by default, shared with other tests).
            "CRM_DB_POOL_SIZE": "2",
            "CRM_DB_MAX_OVERFLOW": "2",
        }
        stacks = [
            (f"replicas-{side}", offset, {**shared, **topology(offset)})
            for side, offset in zip("ab", OFFSETS, strict=True)
        ]
        # The rate-limit counters stay in Redis under this run's prefix until their window ends.
        with throwaway.running_stacks(
            database, stacks, demo_data=False, ready_timeout=STARTUP_TIMEOUT
        ) as states:
            yield {
                "database": database,
                "states": states,
                "receiver": receiver,
                "inbox": inbox,
                "gateways": [url(GATEWAY.port, offset) for offset in OFFSETS],
            }


@dataclass
class Session:
    admin: dict[str, str]
    agent: dict[str, str]
    agent_id: str

    def people(self) -> People:
        """The two as the policies test helpers know them (the other roles are not used there)."""
        settings = GatewaySettings()
        admin, agent = (
            self._person(settings, headers, email)
            for headers, email in ((self.admin, ADMIN[0]), (self.agent, AGENT[0]))
        )
        team = agent.team_id or uuid.uuid4()
        return People(agent, agent, agent, agent, admin, admin, north_team_id=team, south_team_id=team)

    @staticmethod
    def _person(settings: GatewaySettings, headers: dict[str, str], email: str) -> Person:
        token = headers["Authorization"].removeprefix("Bearer ")
        principal = decode_access_token(settings, token)
        return Person(principal.user_id, email, "", principal.role, principal.team_id, token)


async def policies_in_cooling_off(gateway: str, people: People, count: int) -> list[str]:
    """Policies whose receipt was signed 39 days ago: their cooling-off period is over, and the next
    policy sweep notes it (``policy.cooling_off_ended``), once."""
    today = datetime.now(UTC).date()
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as api:
        product = await product_with_terms(api, people.admin)
        made = [
            await issued(
                api,
                people,
                product,
                issued_on=today - timedelta(days=40),
                effective_on=today - timedelta(days=40),
                in_force_by=today - timedelta(days=39),
            )
            for _ in range(count)
        ]
    return [str(policy["id"]) for policy in made]


def sign_in(http: httpx.Client, gateway: str, email: str, password: str) -> dict[str, str]:
    response = http.post(f"{gateway}/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def people(database: str, gateways: list[str]) -> Session:
    settings = GatewaySettings(
        database_url=database, argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1
    )
    asyncio.run(ensure_admin(settings=settings, email=ADMIN[0], password=ADMIN[1], full_name="Admin"))
    with httpx.Client(timeout=30) as http:
        admin = sign_in(http, gateways[0], *ADMIN)
        team = http.post(f"{gateways[1]}/api/v1/teams", json={"name": "Replicas"}, headers=admin)
        assert team.status_code == 201, team.text
        user = http.post(
            f"{gateways[0]}/api/v1/users",
            json={
                "email": AGENT[0],
                "password": AGENT[1],
                "full_name": "Agent",
                "role": "agent",
                "team_id": team.json()["id"],
                "location": None,
            },
            headers=admin,
        )
        assert user.status_code == 201, user.text
        agent = sign_in(http, gateways[1], *AGENT)
    return Session(admin=admin, agent=agent, agent_id=str(user.json()["id"]))


def test_two_replicas_of_every_app(replicas: dict[str, Any]) -> None:
    database: str = replicas["database"]
    gateways: list[str] = replicas["gateways"]
    receiver: Receiver = replicas["receiver"]
    inbox: Inbox = replicas["inbox"]
    session = people(database, gateways)

    # (b) first, while the anonymous window is young: the two gateways share one counter in Redis.
    answered: Counter[tuple[int, int]] = Counter()
    with httpx.Client(timeout=30) as http:
        for n in range(2 * ANONYMOUS_LIMIT):
            side = n % 2
            answered[(side, http.get(f"{gateways[side]}/api/v1/clients").status_code)] += 1
    allowed = sum(count for (_, status), count in answered.items() if status != 429)
    assert allowed <= ANONYMOUS_LIMIT - 2, answered  # the two sign-ins counted in the same window
    assert answered[(0, 429)] > 0, answered
    assert answered[(1, 429)] > 0, answered
    assert sum(answered.values()) == 2 * ANONYMOUS_LIMIT

    # (a) background work, done once with two of every loop.
    with httpx.Client(timeout=30) as http:
        hook = http.post(
            f"{gateways[0]}/api/v1/webhooks/subscriptions",
            json={"url": receiver.url, "event_types": ["client.created"]},
            headers=session.admin,
        )
        assert hook.status_code == 201, hook.text
        client_ids = []
        for n in range(SETUP_CLIENTS):
            made = http.post(
                f"{gateways[n % 2]}/api/v1/clients",
                json=client_body(name=f"Setup {n}", channel="cold"),
                headers=session.agent,
            )
            assert made.status_code == 201, made.text
            client_ids.append(made.json()["id"])
        due = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
        task_ids = []
        for n in range(SETUP_TASKS):
            made = http.post(
                f"{gateways[n % 2]}/api/v1/tasks",
                json={"title": f"Call back {n}", "due_at": due},
                headers=session.agent,
            )
            assert made.status_code == 201, made.text
            task_ids.append(made.json()["id"])

    def leads() -> int:
        found = rows(database, "SELECT coalesce(sum(leads_cold), 0) AS n FROM performance.agent_months")
        return int(found[0]["n"])

    def reminders() -> int:
        return len(rows(database, "SELECT 1 FROM tasks.notifications WHERE dedupe_key LIKE 'task-due:%'"))

    wait_for("a webhook per new client", lambda: len(receiver.event_ids) >= SETUP_CLIENTS)
    wait_for("the new clients counted", lambda: leads() >= SETUP_CLIENTS)
    wait_for("a reminder per task", lambda: reminders() >= SETUP_TASKS)
    wait_for("an e-mail per reminder", lambda: len(inbox.received) >= SETUP_TASKS)
    time.sleep(SETTLE_SECONDS)

    assert len(receiver.event_ids) == SETUP_CLIENTS
    assert len(set(receiver.event_ids)) == SETUP_CLIENTS
    deliveries = rows(database, "SELECT attempts, status FROM identity.webhook_deliveries")
    assert [(r["attempts"], r["status"]) for r in deliveries] == [(1, "delivered")] * SETUP_CLIENTS
    assert leads() == SETUP_CLIENTS
    assert reminders() == SETUP_TASKS
    reminded = rows(database, "SELECT dedupe_key FROM tasks.notifications WHERE dedupe_key LIKE 'task-due:%'")
    assert sorted(r["dedupe_key"] for r in reminded) == sorted(f"task-due:{t}" for t in task_ids)
    assert len(inbox.received) == SETUP_TASKS
    assert len({r.message["Message-ID"] for r in inbox.received}) == SETUP_TASKS
    emails = rows(database, "SELECT attempts, status FROM tasks.deliveries WHERE channel = 'email'")
    assert [(r["attempts"], r["status"]) for r in emails] == [(1, "sent")] * SETUP_TASKS

    # Policies issued 40 days ago: the policy sweep notes each one's end of cooling-off once, and the
    # tasks intake starts each one's after-issue action plan once (both services run two loops).
    policy_ids = asyncio.run(policies_in_cooling_off(gateways[1], session.people(), SETUP_POLICIES))

    def per_policy(sql: str) -> dict[str, int]:
        return {r["id"]: int(r["n"]) for r in rows(database, sql)}

    def swept() -> dict[str, int]:
        return per_policy(
            "SELECT resource_id::text AS id, count(*) AS n FROM policies.audit_log"
            " WHERE action = 'policy.cooling_off_ended' GROUP BY resource_id"
        )

    def plans() -> dict[str, int]:
        return per_policy(
            "SELECT subject_id::text AS id, count(*) AS n FROM tasks.action_plans"
            " WHERE subject_type = 'policy' GROUP BY subject_id"
        )

    wait_for("the sweep's note per policy", lambda: len(swept()) >= SETUP_POLICIES)
    wait_for("an action plan per policy", lambda: len(plans()) >= SETUP_POLICIES)
    time.sleep(SETTLE_SECONDS)
    assert swept() == dict.fromkeys(policy_ids, 1)
    assert plans() == dict.fromkeys(policy_ids, 1)

    # (c) a rolling restart under load loses nothing.
    load = Load(gateways, session.agent, client_ids[0])
    load.start()
    try:
        wait_for("the load running", lambda: load.done >= 20, timeout=30)
        # One side at a time: every app's replica on that side together (as a rollout of every
        # Deployment with maxUnavailable 1 would), so each app always has one replica up.
        for state, offset in zip(replicas["states"], OFFSETS, strict=True):
            restart({state["apps"][spec.name]["pid"]: url(spec.port, offset) for spec in ALL_APPS})
        done_before = load.done
        wait_for("the load running after the restarts", lambda: load.done >= done_before + 20, timeout=30)
    finally:
        load.stop()
    assert load.errors == [], load.errors[:10]
    assert load.done > 0
    created = rows(database, "SELECT count(*) AS n FROM clients.clients")[0]["n"]
    assert created == SETUP_CLIENTS + SETUP_POLICIES + len(load.created_clients)
    assert len(set(load.created_clients.values())) == len(load.created_clients)
    tasks = rows(database, "SELECT count(*) AS n FROM tasks.tasks WHERE plan_id IS NULL")[0]["n"]
    assert tasks == SETUP_TASKS + len(load.created_tasks)
    # The gateways did send requests to the other replica while one was stopping (both counted
    # since their own restart; gateway A saw the whole of side B's).
    gateway_retries = sum(upstream_retries(gateway) for gateway in gateways)
    assert gateway_retries > 0
    print(  # the figures of the run, shown with -s
        f"\nrolling restart: {load.done} requests, {len(load.created_clients)} clients and"
        f" {len(load.created_tasks)} tasks created, {load.replayed} keyed POSTs answered by replay,"
        f" 0 errors; statuses {dict(load.statuses)}; retried on another replica: {gateway_retries} by"
        f" the gateways, {load.retried} by the client in front of them"
    )


def upstream_retries(gateway: str) -> float:
    """``crm_upstream_retries_total`` of one gateway, over every upstream."""
    text = httpx.get(f"{gateway}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("crm_upstream_retries_total{")
    )


def restart(processes: dict[int, str]) -> None:
    """SIGTERM these processes (pid → base URL); their launcher starts each again (its supervisor);
    wait until every one is ready."""
    for pid in processes:
        os.kill(pid, signal.SIGTERM)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    def ready(base: str) -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    for pid, base in processes.items():
        wait_for(f"{base} (pid {pid}) to stop", lambda pid=pid: gone(pid), timeout=RESTART_TIMEOUT)
    for base in processes.values():
        wait_for(f"{base} to be ready again", lambda base=base: ready(base), timeout=RESTART_TIMEOUT)


class Load:
    """A steady mix through both gateways, from a thread of its own: a GET on every service, and
    POSTs with an Idempotency-Key that create clients and tasks. Every answer must be 2xx."""

    def __init__(self, gateways: list[str], headers: dict[str, str], client_id: str) -> None:
        self.gateways = gateways
        self.client_id = client_id
        self.headers = headers
        self.errors: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.created_clients: dict[str, str] = {}
        self.created_tasks: dict[str, str] = {}
        self.replayed = 0
        self.retried = 0
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._turn = itertools.count()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    async def _run(self) -> None:
        # The load balancer in front of the gateways: both, round-robin, the same retry rules.
        transport = balanced(httpx.AsyncHTTPTransport(), {"gateway": self.gateways}, on_retry=self._retried)
        async with httpx.AsyncClient(
            base_url=self.gateways[0], transport=transport, timeout=30, headers=self.headers
        ) as http:
            await asyncio.gather(*(self._worker(http) for _ in range(LOAD_WORKERS)))

    async def _worker(self, http: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            n = next(self._turn)
            try:
                if n % 5 == 3:
                    await self._create(
                        http, "/api/v1/clients", client_body(name=f"Load {n}"), self.created_clients
                    )
                elif n % 5 == 4:
                    body = {"title": f"Load {n}", "due_on": "2030-01-01"}
                    await self._create(http, "/api/v1/tasks", body, self.created_tasks)
                else:
                    path = PROBE_PATHS[n % len(PROBE_PATHS)].format(client=self.client_id)
                    response = await http.get(path)
                    self._record(f"GET {path}", response, 200)
            except httpx.HTTPError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.done += 1

    async def _create(
        self, http: httpx.AsyncClient, path: str, body: dict[str, Any], into: dict[str, str]
    ) -> None:
        key = uuid.uuid4().hex
        response = await http.post(path, json=body, headers={"Idempotency-Key": key})
        if self._record(f"POST {path}", response, 201):
            into[key] = response.json()["id"]
            if response.headers.get("idempotent-replayed") == "true":
                self.replayed += 1

    def _retried(self, name: str) -> None:
        self.retried += 1

    def _record(self, what: str, response: httpx.Response, expected: int) -> bool:
        self.statuses[response.status_code] += 1
        if response.status_code != expected:
            self.errors.append(f"{what}: {response.status_code} {response.text[:200]}")
            return False
        return True
