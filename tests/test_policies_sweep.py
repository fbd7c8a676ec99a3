"""The scheduled sweep: exactly once across replicas, idempotent, catching up after downtime,
publishing through the outbox; and a row a user is changing is left for the next run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import text

from services.policies import sweep
from services.policies.terms import add_years
from tests.conftest import People, Stack
from tests.lifecycle_support import MovedClock, events_of, issued, product_with_terms, read
from tests.policies_support import create_product
from tests.policies_support import today as business_today

T0 = date(2024, 5, 6)


@pytest.fixture
def clock(stack: Stack) -> Iterator[MovedClock]:
    moved = MovedClock(stack)
    try:
        yield moved
    finally:
        moved.reset()


async def _lapsed_count(stack: Stack) -> dict[str, int]:
    rows = await stack.fetch(
        "SELECT resource_id::text AS id, count(*) AS n FROM policies.audit_log"
        " WHERE action = 'policy.lapsed' GROUP BY resource_id"
    )
    return {r["id"]: int(r["n"]) for r in rows}


class TestExactlyOnce:
    async def test_two_sweeps_at_once_change_each_policy_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await create_product(api, people.admin)
        made = [
            await issued(
                api,
                people,
                product,
                issued_on=T0,
                effective_on=T0,
                annual_premium="5000.00",
                payment_years=10,
            )
            for _ in range(6)
        ]
        day = add_years(T0, 1) + timedelta(days=61)
        moved = clock.set(day)
        sessions = stack.apps["policies"].state.sessions
        # Two runs on two connections of the pool, started together (as two replicas would).
        first, second = await asyncio.gather(
            sweep.run_once(sessions=sessions, clock=moved), sweep.run_once(sessions=sessions, clock=moved)
        )
        assert first.lapsed + second.lapsed == 6
        assert sorted([first.lapsed, second.lapsed]) == [0, 6]
        assert await _lapsed_count(stack) == {p["id"]: 1 for p in made}
        for policy in made:
            stored = await read(api, people.agent, policy["id"])
            assert (stored["status"], stored["lapsed_on"], stored["version"]) == (
                "lapsed",
                day.isoformat(),
                policy["version"] + 1,
            )

    async def test_a_replica_that_cannot_take_the_lock_skips_its_run(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        moved = clock.set(T0)
        sessions = stack.apps["policies"].state.sessions
        async with sessions() as holder, holder.begin():
            await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": sweep.LOCK_KEY})
            skipped = await sweep.run_once(sessions=sessions, clock=moved)
        assert (skipped.ran, skipped.total) == (False, 0)
        assert (await sweep.run_once(sessions=sessions, clock=moved)).ran is True

    async def test_a_policy_a_user_is_changing_is_left_for_the_next_run(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await create_product(api, people.admin)
        policy = await issued(
            api, people, product, issued_on=T0, effective_on=T0, annual_premium="5000.00", payment_years=10
        )
        moved = clock.set(add_years(T0, 1) + timedelta(days=61))
        sessions = stack.apps["policies"].state.sessions
        async with sessions() as user, user.begin():
            await user.execute(
                text("SELECT id FROM policies.policies WHERE id = :id FOR UPDATE"), {"id": policy["id"]}
            )
            busy = await sweep.run_once(sessions=sessions, clock=moved)
        assert (busy.ran, busy.lapsed) == (True, 0)
        assert (await sweep.run_once(sessions=sessions, clock=moved)).lapsed == 1


class TestIdempotentAndCatchingUp:
    async def test_a_second_run_changes_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await product_with_terms(api, people.admin, premium_mode="annual")
        await issued(api, people, product, issued_on=T0, effective_on=T0, in_force_by=T0)
        first = await clock.sweep(add_years(T0, 1))
        assert (first.expired, first.cooling_off_ended) == (1, 1)
        again = await clock.sweep()
        assert again.total == 0

    async def test_after_downtime_dates_come_from_the_record_not_the_run(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        """Nobody swept for three years: the policy lapsed the day after its grace period and was
        terminated two years later; one run persists both, each with its own date."""
        clock.set(T0)
        product = await create_product(api, people.admin)
        policy = await issued(
            api, people, product, issued_on=T0, effective_on=T0, annual_premium="5000.00", payment_years=10
        )
        report = await clock.sweep(add_years(T0, 4))
        assert (report.lapsed, report.terminated) == (1, 1)
        stored = await read(api, people.agent, policy["id"])
        lapsed_on = add_years(T0, 1) + timedelta(days=61)
        assert stored["status"] == "terminated"
        assert stored["lapses"] == [{"lapsed_on": lapsed_on.isoformat(), "ended_on": None}]
        assert stored["ended_on"] == add_years(lapsed_on, 2).isoformat()
        published = await events_of(api, people.admin, policy["id"], last="policy.terminated")
        assert published[-2:] == ["policy.lapsed", "policy.terminated"]

    async def test_renewal_notices_at_60_30_and_7_days_once_each(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await product_with_terms(api, people.admin, premium_mode="annual")
        made = [await issued(api, people, product, issued_on=T0, effective_on=T0) for _ in range(2)]
        ends = add_years(T0, 1)
        notices = [
            (await clock.sweep(ends - timedelta(days=d))).renewal_due for d in (61, 60, 45, 30, 8, 7, 1)
        ]
        assert notices == [0, 2, 0, 2, 0, 2, 0]
        for policy in made:
            published = await events_of(api, people.admin, policy["id"], last="policy.renewal_due")
            assert published.count("policy.renewal_due") == 3

    async def test_the_first_run_after_downtime_sends_one_notice_not_three(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await product_with_terms(api, people.admin, premium_mode="annual")
        policy = await issued(api, people, product, issued_on=T0, effective_on=T0)
        report = await clock.sweep(add_years(T0, 1) - timedelta(days=5))
        assert report.renewal_due == 1
        published = await events_of(api, people.admin, policy["id"], last="policy.renewal_due")
        assert published.count("policy.renewal_due") == 1
        assert (await clock.sweep()).renewal_due == 0


@pytest.fixture
async def receiver() -> AsyncIterator[list[dict[str, Any]]]:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies it is sent."""
    bodies: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        bodies.append(json.loads(await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    bodies.append({"url": f"http://127.0.0.1:{runner.addresses[0][1]}/hook"})
    try:
        yield bodies
    finally:
        await runner.cleanup()


class TestPublished:
    async def test_webhooks_and_the_changes_feed_carry_what_the_sweep_did(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        clock: MovedClock,
        receiver: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(stack.apps["gateway"].state.settings, "webhook_allow_private_targets", True)
        url = receiver.pop()["url"]
        created = await api.post(
            "/api/v1/webhooks/subscriptions",
            json={"url": url, "event_types": ["policy.lapsed", "policy.terminated"]},
            headers=people.admin.headers,
        )
        assert created.status_code == 201, created.text
        clock.set(T0)
        product = await create_product(api, people.admin)
        policy = await issued(
            api, people, product, issued_on=T0, effective_on=T0, annual_premium="5000.00", payment_years=10
        )
        assert (await clock.sweep(add_years(T0, 1) + timedelta(days=61))).lapsed == 1

        dispatcher = stack.apps["gateway"].state.webhook_dispatcher
        deadline = asyncio.get_running_loop().time() + 5
        while not receiver and asyncio.get_running_loop().time() < deadline:
            await dispatcher.run_once()
            await asyncio.sleep(0.05)
        assert [(b["type"], b["resource"]["id"]) for b in receiver] == [("policy.lapsed", policy["id"])]
        assert receiver[0]["resource"]["data"]["status"] == "lapsed"

        feed = await api.get("/api/v1/policies/changes", headers=people.agent.headers)
        assert feed.status_code == 200, feed.text
        [change] = [c for c in feed.json()["items"] if c["id"] == policy["id"]]
        assert (change["data"]["status"], change["data"]["lapsed_on"]) == (
            "lapsed",
            (add_years(T0, 1) + timedelta(days=61)).isoformat(),
        )

    async def test_admins_may_run_the_sweep_now_and_nobody_else(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await create_product(api, people.admin)
        await issued(
            api, people, product, issued_on=T0, effective_on=T0, annual_premium="5000.00", payment_years=10
        )
        clock.set(add_years(T0, 1) + timedelta(days=61))
        for person in (people.agent, people.lead, people.ops):
            refused = await api.post("/api/v1/policies/sweep", headers=person.headers)
            assert refused.status_code == 403, refused.text
        ran = await api.post("/api/v1/policies/sweep", headers=people.admin.headers)
        assert ran.status_code == 200, ran.text
        assert ran.json() == {
            "ran": True,
            "today": (add_years(T0, 1) + timedelta(days=61)).isoformat(),
            "lapsed": 1,
            "terminated": 0,
            "expired": 0,
            "cooling_off_ended": 0,
            "renewal_due": 0,
        }


class TestShown:
    async def test_the_agenda_and_the_client_overview_show_the_lapse(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        today = business_today()
        clock.reset()
        product = await create_product(api, people.admin)
        start = add_years(today, -1) - timedelta(days=75)  # the second premium 75 days unpaid
        policy = await issued(
            api,
            people,
            product,
            issued_on=start,
            effective_on=start,
            annual_premium="5000.00",
            payment_years=10,
        )
        moved = clock.set(today)
        assert (await sweep.run_once(sessions=stack.apps["policies"].state.sessions, clock=moved)).lapsed == 1
        clock.reset()
        agenda = (await api.get("/api/v1/agenda", headers=people.agent.headers)).json()
        [entry] = agenda["lapsed_policies"]["items"]
        assert (entry["kind"], entry["subject"]["id"], entry["client_id"]) == (
            "policy_lapsed",
            policy["id"],
            policy["client_id"],
        )
        overview = await api.get(
            f"/api/v1/clients/{policy['client_id']}/overview", headers=people.agent.headers
        )
        assert overview.status_code == 200, overview.text
        [shown] = overview.json()["policies"]
        assert (shown["id"], shown["status"], shown["expires_on"]) == (policy["id"], "lapsed", None)
