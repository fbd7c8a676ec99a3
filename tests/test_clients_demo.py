"""The households demo stage, run against the in-process stack exactly as ``make run`` runs it
(through the gateway): all three tiers, coverage gaps, follow-ups due today, a birthday this week,
and a second run that creates nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from launcher import demo_data, demo_households
from tests.clients_support import CLIENTS
from tests.conftest import People, Person, Stack

TABLES = (
    "clients",
    "family_members",
    "households",
    "tier_assessments",
    "tier_changes",
    "needs_assessments",
    "interactions",
    "milestones",
    "complaints",
    "consents",
)


class SyncBridge(httpx.BaseTransport):
    """A blocking transport (the demo loader is synchronous) into the apps on the test's event loop."""

    def __init__(self, app: FastAPI, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def forward() -> tuple[int, httpx.Headers, bytes]:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=request.read())
            response = await self.transport.handle_async_request(copy)
            return response.status_code, response.headers, await response.aread()

        status, headers, body = asyncio.run_coroutine_threadsafe(forward(), self.loop).result(timeout=60)
        return httpx.Response(status, headers=headers, content=body)


def load_demo(stack: Stack, admin: Person, loop: asyncio.AbstractEventLoop) -> demo_data.DemoContext:
    """Team, users, clients (as ``demo_data.load`` does, minus the bootstrap subprocess), then the stage."""
    transport = SyncBridge(stack.apps["gateway"], loop)
    with httpx.Client(transport=transport, base_url="http://gateway.internal") as http:
        ctx = demo_data.DemoContext(http=http, report=demo_data.Report())
        team_id = demo_data.ensure_team(http, admin.token, demo_data.TEAM_NAME, ctx.report)
        for user in demo_data.USERS:
            ctx.user_ids[user.key] = demo_data.ensure_user(http, admin.token, user, team_id, ctx.report)
            ctx.tokens[user.key] = demo_data.sign_in(http, user.email)
        for agent in (u for u in demo_data.USERS if u.role == "agent"):
            ctx.client_ids.update(demo_data.ensure_clients(http, ctx.tokens[agent.key], agent, ctx.report))
        demo_households.load(ctx)
    return ctx


async def counts(stack: Stack) -> dict[str, int]:
    result = {}
    for table in TABLES:
        rows = await stack.fetch(f"SELECT count(*) AS n FROM clients.{table}")  # noqa: S608 - fixed names
        result[table] = int(rows[0]["n"])
    return result


async def test_the_demo_shows_what_it_promises_and_loads_twice(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    loop = asyncio.get_running_loop()
    ctx = await asyncio.to_thread(load_demo, stack, people.admin, loop)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    lead = {"Authorization": f"Bearer {ctx.tokens['lead']}"}

    clients: list[dict[str, Any]] = (await api.get(CLIENTS, params={"sort": "tier"}, headers=lead)).json()[
        "items"
    ]
    assert {c["tier"] for c in clients} == {"A", "B", "C"}
    assert clients[0]["tier"] == "A"
    documents = {c["name"]: (c["id_document_type"], c["id_document_number"][:6]) for c in clients}
    assert documents["张伟"] == ("resident_id", "310***")  # 浦东新区 (310115), born 1985
    assert documents["周婷"] == ("hk_mo_tw_residence_permit", "810***")

    gaps = (await api.get(f"{CLIENTS}/{ctx.client_ids['张伟']}/coverage-gaps", headers=lead)).json()
    assert all(wall["gap"] is not None for wall in gaps["walls"])
    assert gaps["total_gap"] != "0.00"

    due = (await api.get(f"{CLIENTS}/follow-ups", headers=lead)).json()["items"]
    assert {c["name"] for c in due if c["next_follow_up_on"] == today} == {"张伟", "黄磊"}

    week = (await api.get(f"{CLIENTS}/milestones/upcoming", params={"within_days": 7}, headers=lead)).json()
    assert "黄秀兰" in {entry["person_name"] for entry in week["items"] if entry["kind"] == "birthday"}

    before = await counts(stack)
    again = await asyncio.to_thread(load_demo, stack, people.admin, loop)
    assert await counts(stack) == before
    assert not [what for what in again.report.created if what.startswith("household")]
