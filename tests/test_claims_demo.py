"""The policies and claims demo stages, run against the in-process stack as ``make run`` runs them
(after the households stage, through the gateway): applications in several states, policies in
force and in their cooling-off period, claims whose weekly client update is due, one claim paid —
and a second run that creates nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from launcher import demo_claims, demo_data, demo_policies
from tests.conftest import People, Person, Stack
from tests.test_clients_demo import SyncBridge, load_demo

TABLES = ("policies.products", "policies.applications", "policies.policies", "claims.claims")


def load_every_stage(stack: Stack, admin: Person, loop: asyncio.AbstractEventLoop) -> demo_data.DemoContext:
    """Users, clients and households, then the policies and claims stages, in the launcher's order."""
    ctx = load_demo(stack, admin, loop)
    ctx.tokens[demo_data.ADMIN.key] = admin.token  # the catalogue is the admin's
    transport = SyncBridge(stack.apps["gateway"], loop)
    with httpx.Client(transport=transport, base_url="http://gateway.internal") as http:
        ctx.http = http
        demo_policies.load(ctx)
        demo_claims.load(ctx)
    return ctx


async def every_item(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = await api.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def counts(stack: Stack) -> dict[str, int]:
    result = {}
    for table in TABLES:
        rows = await stack.fetch(f"SELECT count(*) AS n FROM {table}")  # noqa: S608 - fixed names
        result[table] = int(rows[0]["n"])
    return result


async def test_the_demo_shows_applications_in_several_states_and_claims_with_updates_due(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    loop = asyncio.get_running_loop()
    ctx = await asyncio.to_thread(load_every_stage, stack, people.admin, loop)
    lead = {"Authorization": f"Bearer {ctx.tokens['lead']}"}

    applications = await every_item(api, "/api/v1/policies/applications", lead)
    assert {a["status"] for a in applications} >= {
        "draft",
        "submitted",
        "requirements_pending",
        "approved",
        "issued",
        "withdrawn",
    }
    policies = await every_item(api, "/api/v1/policies", lead)
    assert {p["status"] for p in policies} >= {"in_force", "receipt_signed"}

    claims = await every_item(api, "/api/v1/claims", lead)
    assert {c["status"] for c in claims} >= {"collecting_documents", "under_review", "paid"}
    due = await every_item(api, "/api/v1/claims/updates-due", lead)
    assert len(due) >= 2, "the demo should show several claims owing the client an update"
    assert all(c["status"] not in ("paid", "rejected", "withdrawn") for c in due)

    # Issue 16: a failed return visit (代签) flagged for the lead, and an annual review due.
    flags = await every_item(api, "/api/v1/policies/compliance-flags", lead)
    assert [f["reasons"] for f in flags] == [["not_signed_personally"]]
    assert await every_item(api, "/api/v1/policies/reviews/due", lead), "the demo should show a review due"

    before = await counts(stack)
    again = await asyncio.to_thread(load_every_stage, stack, people.admin, loop)
    assert await counts(stack) == before
    assert not [what for what in again.report.created if "claim" in what or "applications" in what]
