"""Webhook delivery latency: from a change committed to a real receiver having the signed POST.

``python -m bench.webhook_latency [--interval 2.0] [--events 40]`` (``CRM_TEST_DATABASE_URL``
names the server, else the embedded one): a fresh ``crm_bench_webhooks`` database → migrations →
the gateway and the clients service in process (real PostgreSQL, HTTP through the gateway) → a
receiver on 127.0.0.1 (aiohttp) subscribed to ``client.created`` → the gateway's own dispatcher
loop running every ``--interval`` seconds → clients created one by one at random moments, each
timed from the 201 (committed) to the receiver's arrival. Prints p50 / p95 / max with the poll
interval. Nothing is asserted: with a poll loop the expected latency is about half the interval
plus one pull and one POST.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from aiohttp import web
from fastapi import FastAPI

from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.testing import MeshTransport
from launcher.apps import ALL_APPS
from launcher.throwaway import database_server, drop_database, recreate_database

DATABASE = "crm_bench_webhooks"


def say(message: str) -> None:
    print(f"webhook-latency | {message}", flush=True)


@contextlib.asynccontextmanager
async def in_process_stack(url: str, interval: float) -> AsyncIterator[dict[str, FastAPI]]:
    from gateway.config import Settings as GatewaySettings
    from gateway.main import create_app as create_gateway
    from services.clients.config import Settings as ClientsSettings
    from services.clients.main import create_app as create_clients

    mesh = MeshTransport()
    common: dict[str, Any] = {"database_url": url, "environment": "test", "log_level": "WARNING"}
    gateway_settings = GatewaySettings(
        **common,
        clients_url="http://clients.internal",
        rate_limit="1000000/minute",
        webhook_allow_private_targets=True,  # the receiver is on loopback
        webhook_dispatch_interval_seconds=interval,
    )
    apps = {
        "gateway": create_gateway(gateway_settings, transport=mesh),
        "clients": create_clients(
            ClientsSettings(**common, identity_url="http://gateway.internal"), transport=mesh
        ),
    }
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app)
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        # Only the clients service runs here: the dispatcher pulls its stream alone.
        apps["gateway"].state.webhook_dispatcher.upstreams = {"clients": "http://clients.internal"}
        yield apps


async def measure(url: str, *, interval: float, events: int) -> None:
    arrivals: dict[str, float] = {}
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        arrivals[body["resource"]["id"]] = time.perf_counter()
        arrived.set()
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with in_process_stack(url, interval) as apps:
            from gateway.identity import service as identity

            gateway = apps["gateway"]
            settings = gateway.state.settings
            async with gateway.state.sessions() as session:
                team = await identity.create_team(session=session, name="Bench")
                made = {}
                for role, team_id in ((Role.AGENT, team.id), (Role.ADMIN, None)):
                    user = await identity.create_user(
                        session=session,
                        settings=settings,
                        email=f"{role.value}@bench.crm",
                        password="bench password 123",  # noqa: S106 - a throwaway user
                        full_name=role.value,
                        role=role,
                        team_id=team_id,
                    )
                    made[role] = issue_access_token(settings, user_id=user.id, role=role, team_id=team_id)
                await session.commit()
            agent, admin = made[Role.AGENT], made[Role.ADMIN]
            transport = httpx.ASGITransport(app=gateway)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway.internal", timeout=60
            ) as api:
                created = await api.post(
                    "/api/v1/webhooks/subscriptions",
                    json={"url": hook_url, "event_types": ["client.created"]},
                    headers={"Authorization": f"Bearer {admin}"},
                )
                assert created.status_code == 201, created.text
                rng = random.Random(5)
                latencies: list[float] = []
                for serial in range(events):
                    await asyncio.sleep(rng.uniform(0, interval))  # land anywhere in the poll cycle
                    arrived.clear()
                    response = await api.post(
                        "/api/v1/clients",
                        json={"name": f"Bench client {serial}", "channel": "warm_market"},
                        headers={"Authorization": f"Bearer {agent}"},
                    )
                    committed = time.perf_counter()
                    client_id = response.json()["id"]
                    while client_id not in arrivals:
                        await asyncio.wait_for(arrived.wait(), timeout=interval * 10 + 30)
                        arrived.clear()
                    latencies.append((arrivals[client_id] - committed) * 1000)
        latencies.sort()
        say(f"dispatcher poll interval: {interval:.2f} s; {events} events, one at a time")
        say(
            f"commit → receiver: p50 {statistics.median(latencies):.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.0f} ms, max {latencies[-1]:.0f} ms, "
            f"min {latencies[0]:.0f} ms"
        )
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--interval", type=float, default=2.0, help="dispatcher poll interval (s)")
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    with database_server("bench-webhooks") as server:
        url = recreate_database(server, DATABASE)
        try:
            for spec in ALL_APPS:
                if spec.name in ("gateway", "clients"):
                    upgrade_to_head(spec.migrations_dir, url)
            asyncio.run(measure(url, interval=args.interval, events=args.events))
        finally:
            drop_database(server, DATABASE)


if __name__ == "__main__":
    os.environ.setdefault("CRM_LOG_LEVEL", "WARNING")
    main()
