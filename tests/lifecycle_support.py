"""Helpers for the policy-life tests: a movable business clock, products with terms, the sweep.

The policies app reads ``app.state.clock`` when it is set (``services/policies/dependencies.py``):
a test moves "today" for every request and for ``run_once()`` without sleeping, and puts the real
clock back at the end (``MovedClock.reset``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import httpx

from crmkit.clock import BusinessClock
from services.policies import sweep
from tests.conftest import People, Person, Stack
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    ZONE,
    act,
    create_application,
    create_client,
    create_product,
    pay_first_premium,
    walk_to_approved,
)


class MovedClock:
    """The policies service's "today", set by the test."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.app = stack.apps["policies"]
        self.clock: BusinessClock | None = None

    def set(self, day: date) -> BusinessClock:
        moment = datetime.combine(day, time(12), ZONE).astimezone(UTC)
        self.clock = BusinessClock(ZONE, now=lambda: moment)
        self.app.state.clock = self.clock
        return self.clock

    def reset(self) -> None:
        self.app.state.clock = None

    async def sweep(self, day: date | None = None) -> sweep.SweepReport:
        """One run of the scheduled sweep as of ``day`` (or the clock's day)."""
        clock = self.set(day) if day is not None else self.clock
        assert clock is not None, "set the clock first"
        return await sweep.run_once(sessions=self.app.state.sessions, clock=clock)


async def product_with_terms(api: httpx.AsyncClient, admin: Person, **terms: Any) -> dict[str, Any]:
    """A medical product by default: one-year renewable, monthly premiums, 30 days' waiting period."""
    body: dict[str, Any] = {
        "category": "million_medical",
        "walls": ["medical"],
        "payment_years": [1],
        "coverage_term": "one_year_renewable",
        "premium_mode": "monthly",
        "waiting_days": 30,
        **terms,
    }
    return await create_product(api, admin, **body)


async def issued(
    api: httpx.AsyncClient,
    people: People,
    product: dict[str, Any],
    *,
    issued_on: date,
    effective_on: date,
    in_force_by: date | None = None,
    annual_premium: str = "1200.00",
    payment_years: int = 1,
    person: Person | None = None,
) -> dict[str, Any]:
    """A policy of ``product`` for a new client, applied for, submitted, approved, first premium paid
    and issued on the issue date (the evidence chain: nothing precedes the application); with
    ``in_force_by``, receipt signed, return visit done and marked in force on that day."""
    agent = person or people.agent
    client = await create_client(api, agent)
    application = await create_application(
        api,
        agent,
        client["id"],
        product["id"],
        annual_premium=annual_premium,
        payment_years=payment_years,
        applied_on=issued_on.isoformat(),
    )
    approved = await walk_to_approved(api, agent, application, decided_on=issued_on)
    await pay_first_premium(api, agent, approved, paid_on=issued_on)
    made = await act(
        api,
        agent,
        f"{APPLICATIONS}/{approved['id']}/issue",
        approved["version"],
        {
            "policy_number": f"P{uuid.uuid4().hex[:10].upper()}",
            "insurer_reference": f"CB-{uuid.uuid4().hex[:10].upper()}",
            "issued_on": issued_on.isoformat(),
            "effective_on": effective_on.isoformat(),
        },
    )
    path = f"{BASE}/{made['policy_id']}"
    policy: dict[str, Any] = (await api.get(path, headers=agent.headers)).json()
    if in_force_by is not None:
        day = in_force_by.isoformat()
        policy = await act(api, agent, f"{path}/receipt", policy["version"], {"signed_on": day})
        visit = {"visited_on": day, "understood_cover": True, "signed_personally": True}
        policy = await act(api, agent, f"{path}/return-visit", policy["version"], visit)
        policy = await act(api, agent, f"{path}/mark-in-force", policy["version"])
    return policy


async def read(api: httpx.AsyncClient, person: Person, policy_id: str) -> dict[str, Any]:
    response = await api.get(f"{BASE}/{policy_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def in_force(api: httpx.AsyncClient, person: Person, policy_id: str, on: date) -> dict[str, Any]:
    response = await api.get(
        f"{BASE}/{policy_id}/in-force", params={"on": on.isoformat()}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def payment(amount: str, paid_on: date, reference: str = "TX-1") -> dict[str, Any]:
    return {
        "amount": amount,
        "paid_on": paid_on.isoformat(),
        "method": "bank_transfer",
        "reference": reference,
    }


async def events_of(api: httpx.AsyncClient, admin: Person, policy_id: str, *, last: str) -> list[str]:
    """The event types the policies service published for one policy, in commit order, once the
    ``last`` one is visible (an unrelated open transaction may hold the outbox back a moment)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        found: list[str] = []
        params: dict[str, Any] = {"limit": 500}
        while True:
            response = await api.get("/api/v1/policies/events", params=params, headers=admin.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            found += [e["type"] for e in page["items"] if e["resource"]["id"] == policy_id]
            if not page["has_more"]:
                break
            params["after"] = page["next_cursor"]
        if (found and found[-1] == last) or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)
