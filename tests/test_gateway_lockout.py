"""Login protection: 5 failed sign-ins per account and address within 15 minutes, then a wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio

from tests.conftest import People, Stack

PROBLEM = "application/problem+json"
TOKEN = "/api/v1/auth/token"
WRONG = "not the password at all"


async def sign_in(api: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await api.post(TOKEN, json={"email": email, "password": password})


async def fail_five_times(api: httpx.AsyncClient, email: str) -> None:
    for _ in range(5):
        response = await sign_in(api, email, WRONG)
        assert response.status_code == 401, response.text


async def failure_rows(stack: Stack) -> list[dict[str, object]]:
    rows = await stack.fetch("SELECT * FROM identity.sign_in_failures ORDER BY source_address")
    return [dict(r) for r in rows]


@pytest_asyncio.fixture
async def elsewhere(stack: Stack, api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway as seen from another source address."""
    transport = httpx.ASGITransport(
        app=stack.apps["gateway"], raise_app_exceptions=False, client=("203.0.113.9", 4711)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
        yield client


class TestLockout:
    async def test_sixth_wrong_password_waits(self, api: httpx.AsyncClient, people: People) -> None:
        await fail_five_times(api, people.agent.email)

        response = await sign_in(api, people.agent.email, WRONG)

        assert response.status_code == 429
        assert response.headers["content-type"] == PROBLEM
        retry_after = int(response.headers["retry-after"])
        assert 0 < retry_after <= 900
        assert "too many failed sign-ins" in response.json()["detail"]

    async def test_correct_password_is_refused_during_the_lockout(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail_five_times(api, people.agent.email)

        response = await sign_in(api, people.agent.email, people.agent.password)

        assert response.status_code == 429
        assert response.headers["content-type"] == PROBLEM
        assert "access_token" not in response.json()
        tokens = await stack.fetch(
            "SELECT count(*) AS n FROM identity.refresh_tokens WHERE user_id = $1", people.agent.user_id
        )
        assert tokens[0]["n"] == 0

    async def test_unknown_account_is_locked_the_same_way(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await fail_five_times(api, people.agent.email)
        await fail_five_times(api, "nobody@example.com")

        known = await sign_in(api, people.agent.email, WRONG)
        unknown = await sign_in(api, "nobody@example.com", WRONG)

        assert known.status_code == unknown.status_code == 429
        assert known.headers["content-type"] == unknown.headers["content-type"] == PROBLEM
        strip = ("request_id",)
        assert {k: v for k, v in known.json().items() if k not in strip} == {
            k: v for k, v in unknown.json().items() if k not in strip
        }

    async def test_failures_are_stored_without_the_email(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail_five_times(api, "Nobody@Example.com")

        rows = await failure_rows(stack)

        assert len(rows) == 1
        assert rows[0]["failures"] == 5
        assert rows[0]["locked_until"] is not None
        assert "nobody" not in str(rows[0]["account_key"]).lower()
        assert rows[0]["source_address"] == "127.0.0.1"

    async def test_the_same_account_from_another_address_is_not_locked(
        self, api: httpx.AsyncClient, elsewhere: httpx.AsyncClient, people: People
    ) -> None:
        await fail_five_times(api, people.agent.email)

        response = await sign_in(elsewhere, people.agent.email, people.agent.password)

        assert response.status_code == 200
        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 429

    async def test_other_accounts_from_the_same_address_are_not_locked(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await fail_five_times(api, people.agent.email)

        response = await sign_in(api, people.colleague.email, people.colleague.password)

        assert response.status_code == 200

    async def test_four_failures_then_success_clears_the_count(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        for _ in range(4):
            assert (await sign_in(api, people.agent.email, WRONG)).status_code == 401

        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 200

        assert await failure_rows(stack) == []
        for _ in range(4):
            assert (await sign_in(api, people.agent.email, WRONG)).status_code == 401
        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 200

    async def test_the_lockout_ends_after_15_minutes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail_five_times(api, people.agent.email)
        past = datetime.now(UTC) - timedelta(minutes=16)
        await stack.fetch(
            "UPDATE identity.sign_in_failures SET first_failed_at = $1::timestamptz - interval '4 minutes',"
            " locked_until = $1::timestamptz + interval '15 minutes' - interval '1 second'",
            past,
        )

        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 200

    async def test_failures_older_than_the_window_start_a_new_count(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        for _ in range(4):
            assert (await sign_in(api, people.agent.email, WRONG)).status_code == 401
        await stack.fetch(
            "UPDATE identity.sign_in_failures SET first_failed_at = now() - interval '16 minutes'"
        )

        assert (await sign_in(api, people.agent.email, WRONG)).status_code == 401
        assert (await sign_in(api, people.agent.email, WRONG)).status_code == 401

        rows = await failure_rows(stack)
        assert rows[0]["failures"] == 2
        assert rows[0]["locked_until"] is None
