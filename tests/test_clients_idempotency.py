"""Creating a client with an Idempotency-Key: a retry never creates a second client."""

from __future__ import annotations

import httpx

from tests.clients_support import CLIENTS, assert_problem, client_body, count_audit, count_clients
from tests.conftest import People, Stack


class TestRetriedCreate:
    async def test_same_key_same_body_replays_the_first_answer(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "create-wang-1"}
        body = client_body(phone="13812345678")

        first = await api.post(CLIENTS, json=body, headers=headers)
        second = await api.post(CLIENTS, json=body, headers=headers)

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["location"] == first.headers["location"]
        assert second.headers["etag"] == first.headers["etag"]
        assert second.headers.get("idempotent-replayed") == "true"
        assert await count_clients(stack) == 1
        assert await count_audit(stack) == 1

    async def test_same_key_different_body_is_422_and_nothing_more_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "create-wang-2"}
        await api.post(CLIENTS, json=client_body(name="Wang"), headers=headers)

        response = await api.post(CLIENTS, json=client_body(name="Li"), headers=headers)

        assert_problem(response, 422)
        assert await count_clients(stack) == 1
        assert await count_audit(stack) == 1

    async def test_a_refused_create_can_be_retried_with_the_same_key(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "create-wang-3"}

        refused = await api.post(CLIENTS, json=client_body(occupation_class=9), headers=headers)
        assert_problem(refused, 422, field="occupation_class")
        assert await count_clients(stack) == 0

        accepted = await api.post(CLIENTS, json=client_body(occupation_class=3), headers=headers)
        assert accepted.status_code == 201
        assert await count_clients(stack) == 1

    async def test_keys_belong_to_the_caller(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        key = {"Idempotency-Key": "shared-key"}
        mine = await api.post(CLIENTS, json=client_body(), headers={**people.agent.headers, **key})
        theirs = await api.post(CLIENTS, json=client_body(), headers={**people.colleague.headers, **key})

        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["id"] != theirs.json()["id"]
        assert await count_clients(stack) == 2
