"""Idempotency-Key on creating POSTs: mobile networks retry, nothing may be created twice."""

from __future__ import annotations

import asyncio
import hashlib
import json

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


class TestAnswerCommittedWhileTheLookupMissedIt:
    async def test_the_committed_answer_stands_and_this_attempt_is_undone(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        # Another holder of the key inserts its answer, uncommitted (so the request's lookup cannot
        # see it), and commits once the request waits on the key's row to remember its own.
        key = "committed-meanwhile"
        caller = f"user:{people.agent.user_id}"
        stored = b'{"stored": true}'
        conn = await asyncpg.connect(stack.database_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO clients.idempotency_keys"
                    " (caller, key, request_hash, status_code, response_headers, response_body)"
                    " VALUES ($1, $2, $3, 201, $4, $5)",
                    caller,
                    key,
                    hashlib.sha256(b"POST\x00/api/v1/clients\x00\x00" + json.dumps(CLIENT).encode()).digest(),
                    json.dumps({"content-type": "application/json"}),
                    stored,
                )
                request = asyncio.create_task(
                    api.post(
                        "/api/v1/clients",
                        content=json.dumps(CLIENT).encode(),
                        headers={
                            **people.agent.headers,
                            "Idempotency-Key": key,
                            "Content-Type": "application/json",
                        },
                    )
                )
                await _until_waiting_on_a_lock(conn, request)
        finally:
            await conn.close()
        response = await request

        assert response.status_code == 201
        assert response.content == stored
        assert response.headers.get("idempotent-replayed") == "true"
        assert await count_clients(stack) == 0  # the request's own client was rolled back
        [row] = await stack.fetch("SELECT response_body FROM clients.idempotency_keys")
        assert row["response_body"] == stored


async def _until_waiting_on_a_lock(conn: asyncpg.Connection, request: asyncio.Task[httpx.Response]) -> None:
    for _ in range(500):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting or request.done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the request never waited on the key's row")


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

    async def test_an_expired_answer_not_yet_purged_is_replaced(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "expired-key"}
        assert (await api.post("/api/v1/clients", json=CLIENT, headers=headers)).status_code == 201
        await stack.fetch("UPDATE clients.idempotency_keys SET created_at = now() - interval '25 hours'")

        fresh = await api.post("/api/v1/clients", json={**CLIENT, "name": "新客户"}, headers=headers)

        assert fresh.status_code == 201
        assert "idempotent-replayed" not in fresh.headers
        assert await count_clients(stack) == 2
        [row] = await stack.fetch(
            "SELECT response_body, created_at > now() - interval '1 hour' AS fresh"
            " FROM clients.idempotency_keys"
        )
        assert row["fresh"]
        assert row["response_body"] == fresh.content
        replay = await api.post("/api/v1/clients", json={**CLIENT, "name": "新客户"}, headers=headers)
        assert replay.headers.get("idempotent-replayed") == "true"
        assert replay.content == fresh.content

    async def test_an_overlong_key_is_a_400(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "k" * 300}
        response = await api.post("/api/v1/clients", json=CLIENT, headers=headers)
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        assert await count_clients(stack) == 0
