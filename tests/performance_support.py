"""Helpers of the performance tests: goals, the event feed read on demand, a client walked to
"effective", a closed deal."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.performance.feed import FeedPass
from tests.clients_support import create_client, if_match
from tests.conftest import Person, Stack
from tests.policies_support import create_application, create_product, pay_first_premium, walk_to_approved

PERFORMANCE = "/api/v1/performance"
GOALS = f"{PERFORMANCE}/goals"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def this_month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def today() -> date:
    return datetime.now(SHANGHAI).date()


HELD_BACK = (
    "SELECT count(*) AS n FROM {schema}.audit_log WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())"
)


async def sync(stack: Stack) -> FeedPass:
    """Read the services' new events into the counters now (the loop is off in tests).

    The feeds hold back rows behind any transaction still open on the server (docs/events-and-
    sync.md), other test runs' included: wait until nothing committed is held back, then read."""
    for _ in range(100):
        held = [(await stack.fetch(HELD_BACK.format(schema=s)))[0]["n"] for s in ("clients", "policies")]
        if not any(held):
            break
        await asyncio.sleep(0.05)
    report: FeedPass = await stack.apps["performance"].state.event_feed.run_once()
    assert not report.failed, report
    return report


async def set_goal(api: httpx.AsyncClient, person: Person, **body: Any) -> dict[str, Any]:
    response = await api.post(GOALS, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def approve(api: httpx.AsyncClient, person: Person, goal_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(f"{GOALS}/{goal_id}/approve", json=body or None, headers=person.headers)
    assert response.status_code == 200, response.text
    approved: dict[str, Any] = response.json()
    return approved


async def effective_client(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    """A new client tiered A with a needs analysis saved: an effective client."""
    client = await create_client(api, person, **overrides)
    scores = {"need_score": 5, "capacity_score": 5, "decision_score": 5}
    response = await api.put(
        f"/api/v1/clients/{client['id']}/tiering", json=scores, headers=if_match(person, 0)
    )
    assert response.status_code == 200, response.text
    response = await api.put(
        f"/api/v1/clients/{client['id']}/needs-assessment",
        json={"client_annual_income": "300000.00"},
        headers=if_match(person, 0),
    )
    assert response.status_code == 200, response.text
    return client


async def closed_deal(
    api: httpx.AsyncClient,
    person: Person,
    admin: Person,
    client_id: str,
    *,
    paid_on: date | None = None,
    premium: str = "8000.00",
) -> dict[str, Any]:
    """An application for the client, approved, its first premium confirmed: a closed deal."""
    product = await create_product(api, admin)
    await _birth_date(api, person, client_id)
    application = await create_application(api, person, client_id, product["id"], annual_premium=premium)
    approved = await walk_to_approved(api, person, application)
    await pay_first_premium(api, person, approved, paid_on=paid_on)
    return approved


async def _birth_date(api: httpx.AsyncClient, person: Person, client_id: str) -> None:
    client = (await api.get(f"/api/v1/clients/{client_id}", headers=person.headers)).json()
    if client.get("birth_date") is None:
        patched = await api.patch(
            f"/api/v1/clients/{client_id}",
            json={"birth_date": "1985-06-12"},
            headers=if_match(person, client["version"]),
        )
        assert patched.status_code == 200, patched.text


async def count_goals(stack: Stack) -> int:
    return len(await stack.fetch("SELECT 1 FROM performance.goals"))
