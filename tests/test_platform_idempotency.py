"""Idempotency-Key on creating POSTs: mobile networks retry, nothing may be created twice."""

from __future__ import annotations

import asyncpg
import httpx

from crmkit.idempotency import purge_expired
from tests.conftest import People, Stack

PROBLEM = "application/problem+json"
CLIENT = {"name": "王小明", "channel": "warm_market"}


async def count_clients(stack: Stack) -> int:
    rows = await stack.fetch("SELECT count(*) AS n FROM clients.clients")
    return int(rows[0]["n"])


class TestRetryWithTheSameKey:
    async def test_same_body_replays_the_first_response(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "create-wang-1"}
        first = await api.post("/api/v1/clients", json=CLIENT, headers=headers)
        second = await api.post("/api/v1/clients", json=CLIENT, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["etag"] == first.headers["etag"]
        assert second.headers["location"] == first.headers["location"]
        assert second.headers["idempotent-replayed"] == "true"
        assert await count_clients(stack) == 1

    async def test_different_body_is_a_422_and_nothing_more_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "create-wang-2"}
        assert (await api.post("/api/v1/clients", json=CLIENT, headers=headers)).status_code == 201
        reused = await api.post("/api/v1/clients", json={**CLIENT, "name": "李四"}, headers=headers)
        assert reused.status_code == 422
        assert reused.headers["content-type"] == PROBLEM
        assert "different request body" in reused.json()["detail"]
        assert await count_clients(stack) == 1

    async def test_keys_are_per_caller(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        key = {"Idempotency-Key": "shared-key"}
        mine = await api.post("/api/v1/clients", json=CLIENT, headers={**people.agent.headers, **key})
        theirs = await api.post("/api/v1/clients", json=CLIENT, headers={**people.colleague.headers, **key})
        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["id"] != theirs.json()["id"]
        assert await count_clients(stack) == 2

    async def test_a_failed_attempt_is_not_remembered(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "fix-and-retry"}
        bad = await api.post("/api/v1/clients", json={**CLIENT, "occupation_class": 7}, headers=headers)
        assert bad.status_code == 422
        good = await api.post("/api/v1/clients", json=CLIENT, headers=headers)
        assert good.status_code == 201
        assert await count_clients(stack) == 1


class TestConcurrentDuplicate:
    async def test_a_duplicate_while_the_first_is_in_flight_is_a_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        # Hold the key's lock as the first request would while it runs.
        conn = await asyncpg.connect(stack.database_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    f"clients.idempotency_keys:user:{people.agent.user_id}:in-flight",
                )
                response = await api.post(
                    "/api/v1/clients",
                    json=CLIENT,
                    headers={**people.agent.headers, "Idempotency-Key": "in-flight"},
                )
        finally:
            await conn.close()
        assert response.status_code == 409
        assert response.headers["content-type"] == PROBLEM
        assert await count_clients(stack) == 0


class TestRetention:
    async def test_keys_live_at_least_24_hours_then_expire(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "old-key"}
        assert (await api.post("/api/v1/clients", json=CLIENT, headers=headers)).status_code == 201
        await stack.fetch("UPDATE clients.idempotency_keys SET created_at = now() - interval '23 hours'")
        replay = await api.post("/api/v1/clients", json=CLIENT, headers=headers)
        assert replay.headers.get("idempotent-replayed") == "true"

        await stack.fetch("UPDATE clients.idempotency_keys SET created_at = now() - interval '25 hours'")
        clients_app = stack.apps["clients"]
        removed = await purge_expired(clients_app.state.engine, clients_app.state.infra_tables, 24)
        assert removed == 1
        fresh = await api.post("/api/v1/clients", json={**CLIENT, "name": "新客户"}, headers=headers)
        assert fresh.status_code == 201
        assert "idempotent-replayed" not in fresh.headers
        assert await count_clients(stack) == 2

    async def test_an_overlong_key_is_a_400(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "k" * 300}
        response = await api.post("/api/v1/clients", json=CLIENT, headers=headers)
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        assert await count_clients(stack) == 0
