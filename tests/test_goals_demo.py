"""The goals and client-events demo stage, run against the in-process stack as ``make run`` runs it
(through the gateway): a past event with attendance and a referral, a month with goals half met,
a scorecard with 12 months of history, and a second run that creates nothing."""

from __future__ import annotations

import asyncio

import httpx

from launcher import demo_data, demo_performance
from tests.conftest import People, Person, Stack
from tests.performance_support import sync
from tests.test_clients_demo import SyncBridge

TABLES = (
    "clients.client_events",
    "clients.event_invitations",
    "clients.event_acquisitions",
    "clients.interactions",
    "clients.clients",
    "performance.goals",
    "performance.progress_notes",
)


def load_demo(stack: Stack, admin: Person, loop: asyncio.AbstractEventLoop) -> demo_data.DemoContext:
    """Team, users, clients (as ``demo_data.load`` does), then this stage, the feed read on demand."""
    transport = SyncBridge(stack.apps["gateway"], loop)
    with httpx.Client(transport=transport, base_url="http://gateway.internal") as http:
        ctx = demo_data.DemoContext(http=http, report=demo_data.Report())
        team_id = demo_data.ensure_team(http, admin.token, demo_data.TEAM_NAME, ctx.report)
        for user in demo_data.USERS:
            ctx.user_ids[user.key] = demo_data.ensure_user(http, admin.token, user, team_id, ctx.report)
            ctx.tokens[user.key] = demo_data.sign_in(http, user.email)
        for agent in (u for u in demo_data.USERS if u.role == "agent"):
            ctx.client_ids.update(demo_data.ensure_clients(http, ctx.tokens[agent.key], agent, ctx.report))
        ctx.shared["performance_catch_up"] = lambda: asyncio.run_coroutine_threadsafe(
            sync(stack), loop
        ).result(60)
        demo_performance.load(ctx)
    return ctx


async def counts(stack: Stack) -> dict[str, int]:
    return {t: int((await stack.fetch(f"SELECT count(*) AS n FROM {t}"))[0]["n"]) for t in TABLES}  # noqa: S608


async def test_the_demo_shows_what_it_promises_and_loads_twice(
    api: httpx.AsyncClient, stack: Stack, people: People
) -> None:
    loop = asyncio.get_running_loop()
    ctx = await asyncio.to_thread(load_demo, stack, people.admin, loop)
    wang, lead = ctx.auth("wang"), ctx.auth("lead")

    events = (await api.get("/api/v1/clients/client-events", headers=wang)).json()["items"]
    assert [e["title"] for e in events] == [demo_performance.TALK]
    report = (await api.get(f"/api/v1/clients/client-events/{events[0]['id']}/report", headers=wang)).json()
    assert (report["invited"], report["accepted"], report["attended"]) == (2, 2, 1)
    assert (report["new_clients"], report["referrals"]) == (1, 1)

    await sync(stack)
    card = (
        await api.get(f"/api/v1/performance/scorecards/agents/{ctx.user_ids['wang']}", headers=lead)
    ).json()
    assert card["goal_status"] == "adjusted"
    assert card["actual"]["effective_clients"] >= 1
    for figure in ("effective_clients", "appointments", "visits", "calls"):
        assert card["progress"][figure] == 0.5, figure
    months_with_calls = [m for m in card["trend"] if m["actual"]["calls"] > 0]
    assert len(months_with_calls) >= 11
    assert all(m["goal"] is not None for m in card["trend"])

    before = await counts(stack)
    again = await asyncio.to_thread(load_demo, stack, people.admin, loop)
    assert await counts(stack) == before
    assert "this month's goal, half met" in again.report.existing
