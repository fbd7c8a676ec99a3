"""Rate limits key on the verified principal, hold per address for anonymous calls, and hold across
gateway replicas through Redis (issue 14, finding 1).

Each test builds its own stack with tiny limits (3 a minute) so that a handful of requests crosses
them; the counters of the Redis tests live under a prefix of their own.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crmkit.testing import MeshTransport
from tests.conftest import PASSWORD, People, Stack, build_apps, running
from tests.test_gateway_auth import assert_problem

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMITS: dict[str, Any] = {"rate_limit": "3/minute", "rate_limit_anonymous": "3/minute"}


@contextlib.asynccontextmanager
async def gateways(stack: Stack, count: int = 1, **overrides: Any) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``count`` gateway replicas (each with its own counters unless they share Redis), one mesh."""
    mesh = MeshTransport()
    apps = build_apps(stack.database_url, mesh, **{**LIMITS, **overrides})
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app)
    replicas = [apps["gateway"]]
    for _ in range(count - 1):
        replicas.append(build_apps(stack.database_url, mesh, **{**LIMITS, **overrides})["gateway"])
    everything = {**apps, **{f"replica{i}": r for i, r in enumerate(replicas[1:])}}
    async with running(everything), contextlib.AsyncExitStack() as clients:
        yield [
            await clients.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=replica), base_url="http://gateway.internal"
                )
            )
            for replica in replicas
        ]


def random_key() -> str:
    return f"crm_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"


class TestVerifiedPrincipal:
    async def test_a_random_api_key_per_request_does_not_make_a_new_caller(
        self, stack: Stack, people: People
    ) -> None:
        async with gateways(stack) as (gateway,):
            answers = [
                await gateway.get("/api/v1/me", headers={**people.agent.headers, "X-API-Key": random_key()})
                for _ in range(4)
            ]

        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert_problem(answers[3], 429)
        assert int(answers[3].headers["retry-after"]) >= 1

    async def test_an_api_key_counts_against_its_own_principal(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await api.post(
            "/api/v1/api-keys",
            json={"name": "Broker sync", "user_id": str(people.agent.user_id), "scopes": ["clients:read"]},
            headers=people.admin.headers,
        )
        key = created.json()["key"]
        async with gateways(stack) as (gateway,):
            with_key = [await gateway.get("/api/v1/clients", headers={"X-API-Key": key}) for _ in range(4)]
            the_user_meanwhile = await gateway.get("/api/v1/me", headers=people.agent.headers)

        assert [a.status_code for a in with_key[:3]] == [200, 200, 200]
        assert_problem(with_key[3], 429)
        assert the_user_meanwhile.status_code == 200  # the key's bucket is not the user's own

    async def test_a_forged_bearer_token_is_anonymous(self, stack: Stack) -> None:
        async with gateways(stack) as (gateway,):
            answers = [
                await gateway.get("/api/v1/me", headers={"Authorization": f"Bearer forged.{i}.token"})
                for i in range(4)
            ]

        assert [a.status_code for a in answers[:3]] == [401, 401, 401]
        assert_problem(answers[3], 429)


class TestAnonymousCalls:
    async def test_sign_in_attempts_are_limited_per_address(self, stack: Stack, people: People) -> None:
        async with gateways(stack) as (gateway,):
            answers = [
                await gateway.post(
                    "/api/v1/auth/token",
                    json={"email": f"nobody{i}@example.com", "password": "wrong password"},
                    headers={"X-API-Key": random_key()},
                )
                for i in range(4)
            ]
            real_user = await gateway.post(
                "/api/v1/auth/token", json={"email": people.agent.email, "password": PASSWORD}
            )

        assert [a.status_code for a in answers[:3]] == [401, 401, 401]
        assert_problem(answers[3], 429)
        assert int(answers[3].headers["retry-after"]) >= 1
        assert_problem(real_user, 429)  # same address, same window

    async def test_refresh_is_limited_per_address(self, stack: Stack) -> None:
        async with gateways(stack) as (gateway,):
            answers = [
                await gateway.post("/api/v1/auth/refresh", json={"refresh_token": secrets.token_urlsafe(32)})
                for _ in range(4)
            ]

        assert all(a.status_code in (401, 422) for a in answers[:3])
        assert_problem(answers[3], 429)


class TestAcrossReplicas:
    @pytest.fixture
    def shared_redis(self) -> dict[str, str]:
        """The real Redis on 127.0.0.1:6379; the counters expire with their one-minute window."""
        return {"redis_url": REDIS_URL, "rate_limit_key_prefix": f"crm-test-{uuid.uuid4().hex[:12]}"}

    async def test_two_replicas_share_one_window(
        self, stack: Stack, people: People, shared_redis: dict[str, str]
    ) -> None:
        async with gateways(stack, count=2, **shared_redis) as (first, second):
            answers = [
                await (first if i % 2 == 0 else second).get("/api/v1/me", headers=people.agent.headers)
                for i in range(4)
            ]

        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert_problem(answers[3], 429)
        assert int(answers[3].headers["retry-after"]) >= 1

    async def test_without_redis_each_replica_counts_alone(self, stack: Stack, people: People) -> None:
        async with gateways(stack, count=2) as (first, second):
            answers = [
                await (first if i % 2 == 0 else second).get("/api/v1/me", headers=people.agent.headers)
                for i in range(4)
            ]

        assert [a.status_code for a in answers] == [200, 200, 200, 200]
