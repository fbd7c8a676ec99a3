"""Deleting a client is a soft delete, guarded by If-Match and audited."""

from __future__ import annotations

import uuid

import httpx

from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_rows,
    count_audit,
    count_clients,
    create_client,
    if_match,
    stored_version,
)
from tests.conftest import People, Stack


class TestAgentDeletesClient:
    async def test_answers_204_and_the_client_disappears_but_the_row_stays(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone="13812345678")

        response = await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 1))

        assert response.status_code == 204
        assert (await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)).status_code == 404
        assert (await api.get(CLIENTS, headers=people.agent.headers)).json()["items"] == []
        assert await count_clients(stack) == 1
        assert await count_clients(stack, live_only=True) == 0

    async def test_is_audited_with_the_masked_record(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone="13812345678")

        await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 1))

        entry = (await audit_rows(stack, client["id"]))[-1]
        assert entry["action"] == "client.deleted"
        assert entry["before"]["phone"] == "+86 138****5678"
        assert entry["after"] is None

    async def test_deleting_twice_is_404(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        client = await create_client(api, people.agent)
        await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 1))
        audit_before = await count_audit(stack)

        again = await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 2))
        assert_problem(again, 404)
        assert await stored_version(stack, client["id"]) == 2
        assert await count_audit(stack) == audit_before

    async def test_a_deleted_client_cannot_be_edited(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 1))

        response = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"notes": "x"}, headers=if_match(people.agent, 2)
        )
        assert_problem(response, 404)
        [row] = await stack.fetch(
            "SELECT notes, version, deleted_at FROM clients.clients WHERE id = $1", uuid.UUID(client["id"])
        )
        assert (row["notes"], row["version"]) == (None, 2)
        assert row["deleted_at"] is not None


class TestRejectedDelete:
    async def test_missing_if_match_is_428_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)

        response = await api.delete(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)

        assert_problem(response, 428)
        assert await count_clients(stack, live_only=True) == 1
        assert await count_audit(stack) == audit_before

    async def test_stale_if_match_is_412_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await api.patch(f"{CLIENTS}/{client['id']}", json={"notes": "x"}, headers=if_match(people.agent, 1))
        audit_before = await count_audit(stack)

        response = await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 1))

        assert_problem(response, 412)
        assert await stored_version(stack, client["id"]) == 2
        assert await count_clients(stack, live_only=True) == 1
        assert await count_audit(stack) == audit_before

    async def test_unknown_client_is_404(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        await create_client(api, people.agent)
        audit_before = await count_audit(stack)
        response = await api.delete(f"{CLIENTS}/{uuid.uuid4()}", headers=if_match(people.agent, 1))
        assert_problem(response, 404)
        assert await count_clients(stack, live_only=True) == 1
        assert await count_audit(stack) == audit_before
