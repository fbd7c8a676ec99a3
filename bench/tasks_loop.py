"""The agent's working loop (issue 18): how fast notifications reach people.

``python -m bench.tasks_loop [--interval 0.5] [--events 30] [--emails 500] [--tasks 50000]``
(``CRM_TEST_DATABASE_URL`` names the server, else the embedded one; ``make bench`` runs it too): a
fresh ``crm_bench_tasks`` database → migrations → the gateway, the clients service and the tasks
service in process on real PostgreSQL, HTTP through the gateway. Three figures, nothing asserted:

1. event commit → in-app notification on an open SSE stream: a client assessed A-tier (the
   ``client.tier_changed`` event commits), the tasks worker (polling every ``--interval``) starts
   the client's action plan and its ``plan_started`` notification arrives on the agent's stream,
   held open through the gateway. p50 / p95 / max; also the push alone (a notification committed
   by ``POST /notifications`` → the stream, i.e. PostgreSQL NOTIFY and the SSE write);
2. e-mails per second through the outbox to a local SMTP server (aiosmtpd on 127.0.0.1);
3. the reminder sweep with ``--tasks`` open tasks: nothing due, and a tenth of them due.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from crmkit.auth import Role, issue_access_token
from crmkit.clock import BusinessClock
from crmkit.migrations import upgrade_to_head
from crmkit.testing import MeshTransport, StreamingASGITransport
from launcher.apps import ALL_APPS
from launcher.throwaway import database_server, drop_database, plain, recreate_database

DATABASE = "crm_bench_tasks"
APPS = ("gateway", "clients", "tasks")


def say(message: str) -> None:
    print(f"tasks-loop | {message}", flush=True)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's hook
        self.count += 1
        return "250 OK"


@contextlib.asynccontextmanager
async def in_process_stack(url: str, interval: float, smtp_port: int) -> AsyncIterator[dict[str, FastAPI]]:
    from gateway.config import Settings as GatewaySettings
    from gateway.main import create_app as create_gateway
    from services.clients.config import Settings as ClientsSettings
    from services.clients.main import create_app as create_clients
    from services.tasks.config import Settings as TasksSettings
    from services.tasks.main import create_app as create_tasks

    mesh = MeshTransport()
    common: dict[str, Any] = {"database_url": url, "environment": "test", "log_level": "WARNING"}
    peers = {**common, "identity_url": "http://gateway.internal", "clients_url": "http://clients.internal"}
    apps = {
        "gateway": create_gateway(
            GatewaySettings(
                **common,
                clients_url="http://clients.internal",
                tasks_url="http://tasks.internal",
                rate_limit="1000000/minute",
                webhook_dispatch_interval_seconds=0,
            ),
            transport=mesh,
        ),
        "clients": create_clients(ClientsSettings(**peers), transport=mesh),
        "tasks": create_tasks(
            TasksSettings(
                **peers,
                work_interval_seconds=interval,
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                db_pool_size=10,
            ),
            transport=mesh,
        ),
    }
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app, streaming=name == "tasks")
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield apps


async def _users(gateway: FastAPI) -> tuple[str, uuid.UUID]:
    from gateway.identity import service as identity

    settings = gateway.state.settings
    async with gateway.state.sessions() as session:
        team = await identity.create_team(session=session, name="Bench")
        user = await identity.create_user(
            session=session,
            settings=settings,
            email="agent@bench.crm",
            password="bench password 123",  # noqa: S106 - a throwaway user
            full_name="Bench Agent",
            role=Role.AGENT,
            team_id=team.id,
        )
        await session.commit()
    token = issue_access_token(settings, user_id=user.id, role=Role.AGENT, team_id=team.id)
    return token, user.id


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[max(0, int(len(values) * 0.95) - 1)], 1),
        "max_ms": round(values[-1], 1),
    }


async def stream_latency(
    apps: dict[str, FastAPI], token: str, user_id: uuid.UUID, events: int, interval: float
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    arrivals: dict[str, float] = {}
    arrived = asyncio.Event()
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=apps["gateway"]), base_url="http://gateway.internal", timeout=60
    )
    streaming = httpx.AsyncClient(
        transport=StreamingASGITransport(apps["gateway"]), base_url="http://gateway.internal", timeout=600
    )

    async def listen() -> None:
        async with streaming.stream("GET", "/api/v1/tasks/notifications/stream", headers=headers) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    body = json.loads(line.removeprefix("data: "))
                    arrivals[body["link_path"] or body["id"]] = time.perf_counter()
                    arrivals[body["id"]] = arrivals[body["link_path"] or body["id"]]
                    arrived.set()

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.5)

    async def wait_for(key: str) -> float:
        while key not in arrivals:
            await asyncio.wait_for(arrived.wait(), timeout=interval * 10 + 30)
            arrived.clear()
        return arrivals[key]

    plan_ms: list[float] = []
    push_ms: list[float] = []
    try:
        for serial in range(events):
            client = (
                await api.post(
                    "/api/v1/clients",
                    json={"name": f"Bench {serial}", "channel": "warm_market"},
                    headers=headers,
                )
            ).json()
            await asyncio.sleep((serial % 10) / 10 * interval)  # land anywhere in the poll cycle
            assessed = await api.put(
                f"/api/v1/clients/{client['id']}/tiering",
                json={"need_score": 5, "capacity_score": 5, "decision_score": 5},
                headers={**headers, "If-Match": 'W/"0"'},
            )
            assert assessed.status_code == 200, assessed.text
            committed = time.perf_counter()
            # the plan's notification links to the plan; find it by waiting for any new arrival
            before = set(arrivals)
            while not (set(arrivals) - before):
                await asyncio.wait_for(arrived.wait(), timeout=interval * 10 + 30)
                arrived.clear()
            plan_ms.append((min(arrivals[k] for k in set(arrivals) - before) - committed) * 1000)

            sent = await api.post(
                "/api/v1/tasks/notifications",
                json={
                    "recipient": {"type": "user", "id": str(user_id)},
                    "template": "premium_due",
                    "channels": ["in_app"],
                    "variables": {"policy": f"P{serial}", "instalment": "1", "due": "2027-01-01"},
                },
                headers=headers,
            )
            committed = time.perf_counter()
            push_ms.append((await wait_for(sent.json()["id"]) - committed) * 1000)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
        await api.aclose()
        await streaming.aclose()
    return {
        "interval_s": interval,
        "events": events,
        "event_to_stream": _percentiles(plan_ms),
        "push_only": _percentiles(push_ms),
    }


async def email_rate(
    apps: dict[str, FastAPI], user_id: uuid.UUID, emails: int, counter: Counter
) -> dict[str, Any]:
    from services.tasks import notifications

    tasks_app = apps["tasks"]
    clock = BusinessClock(zone=tasks_app.state.settings.zone)
    async with tasks_app.state.sessions() as session:
        for n in range(emails):
            await notifications.to_user(
                session=session,
                clock=clock,
                template_key="task_due",
                user_id=user_id,
                variables={"title": f"任务{n}", "due": "今天"},
                created_by="bench",
                channels=["email"],
            )
        await session.commit()
    worker = tasks_app.state.worker
    started = time.perf_counter()
    before = counter.count
    while counter.count - before < emails:
        report = await worker.run_once(intake_events=False)
        if report.attempted == 0:
            await asyncio.sleep(0.01)
    seconds = time.perf_counter() - started
    return {"emails": emails, "seconds": round(seconds, 2), "per_second": round(emails / seconds, 1)}


async def sweep_time(apps: dict[str, FastAPI], url: str, user_id: uuid.UUID, tasks: int) -> dict[str, Any]:
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.execute(
            "DELETE FROM tasks.deliveries; DELETE FROM tasks.notifications; DELETE FROM tasks.tasks"
        )
        # Open tasks due over the next 100 days; a tenth of them due within the hour (reminders owed).
        await conn.execute(
            """
            INSERT INTO tasks.tasks (id, title, owner_agent_id, created_by, due_on, due_by, priority, status,
                                     version, created_at, updated_at)
            SELECT gen_random_uuid(), 'bench ' || n, $1, $1,
                   (now() + make_interval(days => 2 + n % 100))::date,
                   now() + make_interval(days => 2 + n % 100), 'normal', 'open', 1, now(), now()
            FROM generate_series(1, $2) AS n
            """,
            user_id,
            tasks,
        )
        await conn.execute("ANALYZE tasks.tasks")
        worker = apps["tasks"].state.worker
        started = time.perf_counter()
        reminded = await worker.sweep(worker.clock(None))
        idle_ms = (time.perf_counter() - started) * 1000
        due = tasks // 10
        await conn.execute(
            "UPDATE tasks.tasks SET due_by = now() + interval '30 minutes', due_on = NULL,"
            " due_at = now() + interval '30 minutes'"
            " WHERE id IN (SELECT id FROM tasks.tasks ORDER BY id LIMIT $1)",
            due,
        )
        started = time.perf_counter()
        reminded = await worker.sweep(worker.clock(None))
        busy_ms = (time.perf_counter() - started) * 1000
    finally:
        await conn.close()
    return {
        "open_tasks": tasks,
        "idle_ms": round(idle_ms, 1),
        "due": due,
        "reminded": reminded,
        "busy_ms": round(busy_ms, 1),
    }


async def measure(url: str, *, interval: float, events: int, emails: int, tasks: int) -> dict[str, Any]:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        async with in_process_stack(url, interval, controller.port) as apps:
            token, user_id = await _users(apps["gateway"])
            figures: dict[str, Any] = {}
            figures["stream"] = await stream_latency(apps, token, user_id, events, interval)
            stream = figures["stream"]
            say(f"event commit → SSE (worker every {interval} s): {stream['event_to_stream']}")
            say(f"notification commit → SSE (the push alone): {stream['push_only']}")
            apps["tasks"].state.settings.work_interval_seconds = 0
            figures["email"] = await email_rate(apps, user_id, emails, counter)
            say(f"e-mail through the outbox to local SMTP: {figures['email']}")
            figures["sweep"] = await sweep_time(apps, url, user_id, tasks)
            say(f"reminder sweep: {figures['sweep']}")
            return figures
    finally:
        controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(
    server_url: str, *, interval: float = 0.5, events: int = 30, emails: int = 500, tasks: int = 50_000
) -> dict[str, Any]:
    """For ``python -m bench``: a database of its own on the bench's server."""
    url = recreate_database(server_url, DATABASE)
    try:
        for spec in ALL_APPS:
            if spec.name in APPS:
                upgrade_to_head(spec.migrations_dir, url)
        return asyncio.run(measure(url, interval=interval, events=events, emails=emails, tasks=tasks))
    finally:
        drop_database(server_url, DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--interval", type=float, default=0.5, help="the tasks worker's poll interval (s)")
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=50_000)
    args = parser.parse_args()
    with database_server("bench-tasks") as server:
        run(server, interval=args.interval, events=args.events, emails=args.emails, tasks=args.tasks)


if __name__ == "__main__":
    os.environ.setdefault("CRM_LOG_LEVEL", "WARNING")
    main()


__all__ = ["UTC", "datetime", "timedelta"]
