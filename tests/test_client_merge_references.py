"""A merge of two clients reaches the services holding references to them (policies, claims).

The clients service merges and publishes ``client.merged``; the gateway's dispatcher reads it and
sends each holder a merge notice before its cursor moves past the event; the holders move their
``client_id`` references to the survivor, bump the records' versions and audit the move.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from gateway.webhooks.dispatcher import Dispatcher
from tests.claims_support import days_ago, report_claim
from tests.clients_support import assert_problem
from tests.conftest import People, Stack
from tests.policies_support import create_client, issue_policy
from tests.test_events_outbox import SETTLE_SECONDS


def dispatcher_of(stack: Stack) -> Dispatcher:
    found: Dispatcher = stack.apps["gateway"].state.webhook_dispatcher
    return found


async def merge(api: httpx.AsyncClient, people: People, survivor: dict[str, Any], duplicate_id: str) -> None:
    response = await api.post(
        f"/api/v1/clients/{survivor['id']}/merge",
        json={"duplicate_id": duplicate_id},
        headers={**people.agent.headers, "If-Match": f'W/"{survivor["version"]}"'},
    )
    assert response.status_code == 200, response.text


async def client_ids(stack: Stack, table: str, record_id: str) -> uuid.UUID:
    rows = await stack.fetch(f"SELECT client_id FROM {table} WHERE id = $1", uuid.UUID(record_id))  # noqa: S608
    found: uuid.UUID = rows[0]["client_id"]
    return found


async def policy_of(api: httpx.AsyncClient, people: People, client: dict[str, Any]) -> dict[str, Any]:
    return await issue_policy(api, people.agent, client["id"], effective_on=days_ago(100), admin=people.admin)


async def pass_until_moved(stack: Stack, table: str, record_id: str, survivor: str) -> None:
    """Dispatcher passes until the reference moved (events wait behind open transactions)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        await dispatcher_of(stack).run_once()
        if str(await client_ids(stack, table, record_id)) == survivor:
            return
        await asyncio.sleep(0.05)


class TestMergeReachesPoliciesAndClaims:
    async def test_policies_and_claims_of_the_duplicate_follow_to_the_survivor(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        survivor = await create_client(api, people.agent)
        duplicate = await create_client(api, people.agent)
        policy = await issue_policy(
            api, people.agent, duplicate["id"], effective_on=days_ago(100), admin=people.admin
        )
        claim = await report_claim(api, people.agent, policy["id"])

        await merge(api, people, survivor, duplicate["id"])
        await pass_until_moved(stack, "claims.claims", claim["id"], survivor["id"])

        assert str(await client_ids(stack, "policies.policies", policy["id"])) == survivor["id"]
        assert str(await client_ids(stack, "claims.claims", claim["id"])) == survivor["id"]
        listed = await api.get(
            "/api/v1/policies", params={"client_id": survivor["id"]}, headers=people.agent.headers
        )
        assert [p["id"] for p in listed.json()["items"]] == [policy["id"]]
        moved = await stack.fetch(
            "SELECT action, after FROM policies.audit_log WHERE action = 'policy.client_repointed'"
        )
        assert len(moved) == 1
        assert json.loads(moved[0]["after"]) == {"client_id": survivor["id"]}
        refreshed = await api.get(f"/api/v1/policies/{policy['id']}", headers=people.agent.headers)
        assert refreshed.json()["version"] == policy["version"] + 1

    async def test_a_holder_down_holds_the_notice_until_it_is_back(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        survivor = await create_client(api, people.agent)
        duplicate = await create_client(api, people.agent)
        policy = await policy_of(api, people, duplicate)
        claim = await report_claim(api, people.agent, policy["id"])

        stack.mesh.down.add("claims.internal")
        try:
            await merge(api, people, survivor, duplicate["id"])
            deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
            held = False
            while not held and asyncio.get_running_loop().time() < deadline:
                held = "clients" in (await dispatcher_of(stack).run_once()).failed_services
            assert held, "the pass should stop at the merge while the claims service is down"
            await dispatcher_of(stack).run_once()
            assert str(await client_ids(stack, "claims.claims", claim["id"])) == duplicate["id"]
        finally:
            stack.mesh.down.discard("claims.internal")
        await pass_until_moved(stack, "claims.claims", claim["id"], survivor["id"])

        assert str(await client_ids(stack, "claims.claims", claim["id"])) == survivor["id"]
        assert str(await client_ids(stack, "policies.policies", policy["id"])) == survivor["id"]


class TestMergeNotices:
    async def test_are_for_administrators_and_the_dispatcher_only(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = {"survivor_id": str(uuid.uuid4()), "merged_id": str(uuid.uuid4())}
        for service in ("policies", "claims"):
            response = await api.post(
                f"/api/v1/{service}/client-merges", json=body, headers=people.agent.headers
            )
            assert_problem(response, 403)

    async def test_a_client_merged_into_itself_is_422_and_a_repeat_moves_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        same = str(uuid.uuid4())
        response = await api.post(
            "/api/v1/policies/client-merges",
            json={"survivor_id": same, "merged_id": same},
            headers=people.admin.headers,
        )
        assert_problem(response, 422, field="merged_id")

        body = {"survivor_id": str(uuid.uuid4()), "merged_id": str(uuid.uuid4())}
        again = await api.post("/api/v1/claims/client-merges", json=body, headers=people.admin.headers)
        assert again.status_code == 200, again.text
        assert again.json()["repointed"] == {"claim": 0}
        assert (await stack.fetch("SELECT count(*) AS n FROM claims.audit_log"))[0]["n"] == 0
