"""A credential is never kept for replay (issue 14, finding 5).

The idempotency cache stores a response for 24 hours and replays it. For a route whose answer holds
a credential (new API keys, webhook signing secrets, sign-in and refresh tokens) that would keep
the secret in plain text and hand it out again; a replayed refresh even slipped past reuse
detection. Such routes refuse ``Idempotency-Key`` with 400 and store nothing.
"""

from __future__ import annotations

import httpx

from tests.conftest import People, Stack
from tests.test_gateway_auth import assert_problem

KEY = {"Idempotency-Key": "retry-me-1"}


async def cached_responses(stack: Stack) -> int:
    rows = await stack.fetch("SELECT count(*) AS n FROM identity.idempotency_keys")
    return int(rows[0]["n"])


async def count(stack: Stack, table: str) -> int:
    rows = await stack.fetch(f"SELECT count(*) AS n FROM identity.{table}")  # noqa: S608 - our own names
    return int(rows[0]["n"])


class TestCredentialRoutesRefuseTheHeader:
    async def test_an_api_key_is_not_created_with_an_idempotency_key(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        response = await api.post(
            "/api/v1/api-keys",
            json={"name": "Broker sync", "user_id": str(people.agent.user_id), "scopes": ["clients:read"]},
            headers={**people.admin.headers, **KEY},
        )

        body = assert_problem(response, 400)
        assert str(body["type"]).endswith("/idempotency-not-supported")
        assert await count(stack, "api_keys") == 0
        assert await cached_responses(stack) == 0

    async def test_a_webhook_secret_is_not_kept_for_replay(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        response = await api.post(
            "/api/v1/webhooks/subscriptions",
            json={"url": "https://hooks.example.com/crm", "event_types": ["client.*"]},
            headers={**people.admin.headers, **KEY},
        )

        assert_problem(response, 400)
        assert await count(stack, "webhook_subscriptions") == 0
        assert await cached_responses(stack) == 0

    async def test_a_refresh_is_never_replayed(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        signed_in = await api.post(
            "/api/v1/auth/token", json={"email": people.agent.email, "password": people.agent.password}
        )
        refresh_token = signed_in.json()["refresh_token"]

        refused = await api.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": refresh_token},
            headers={**people.agent.headers, **KEY},
        )
        rotated = await api.post(
            "/api/v1/auth/refresh", json={"refresh_token": refresh_token}, headers=people.agent.headers
        )
        reused = await api.post(
            "/api/v1/auth/refresh", json={"refresh_token": refresh_token}, headers=people.agent.headers
        )

        assert_problem(refused, 400)
        assert rotated.status_code == 200  # the refused call did not rotate it
        assert_problem(reused, 401)  # reuse detection still fires
        assert await cached_responses(stack) == 0

    async def test_sign_in_refuses_it_too(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.post(
            "/api/v1/auth/token",
            json={"email": people.agent.email, "password": people.agent.password},
            headers=KEY,
        )

        assert_problem(response, 400)

    async def test_the_document_marks_the_routes(self, api: httpx.AsyncClient) -> None:
        document = (await api.get("/openapi.json")).json()

        marked = {
            path
            for path, item in document["paths"].items()
            for operation in item.values()
            if isinstance(operation, dict) and operation.get("x-mints-credentials")
        }
        assert marked == {
            "/api/v1/auth/token",
            "/api/v1/auth/refresh",
            "/api/v1/api-keys",
            "/api/v1/webhooks/subscriptions",
        }

    async def test_other_creations_still_replay(self, api: httpx.AsyncClient, people: People) -> None:
        first = await api.post(
            "/api/v1/teams", json={"name": "East"}, headers={**people.admin.headers, **KEY}
        )
        second = await api.post(
            "/api/v1/teams", json={"name": "East"}, headers={**people.admin.headers, **KEY}
        )

        assert first.status_code == 201
        assert second.headers["idempotent-replayed"] == "true"
        assert second.json() == first.json()
