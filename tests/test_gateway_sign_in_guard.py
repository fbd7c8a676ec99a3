"""Sign-in protection (issue 14, finding 3): the attacker's address is throttled hard, the account
is slowed progressively but never locked, and a device the user signed in on before gets through
whatever strangers did (gateway/identity/sign_in_guard.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.conftest import People, Stack

PROBLEM = "application/problem+json"
TOKEN = "/api/v1/auth/token"
WRONG = "not the password at all"


async def sign_in(
    api: httpx.AsyncClient, email: str, password: str, device_token: str | None = None
) -> httpx.Response:
    body = {"email": email, "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    return await api.post(TOKEN, json=body)


async def fail(api: httpx.AsyncClient, email: str, times: int, device_token: str | None = None) -> None:
    for _ in range(times):
        response = await sign_in(api, email, WRONG, device_token)
        assert response.status_code == 401, response.text


async def throttles(stack: Stack) -> dict[str, dict[str, object]]:
    rows = await stack.fetch("SELECT * FROM identity.sign_in_throttles")
    return {str(r["subject_kind"]): dict(r) for r in rows}


async def refresh_tokens(stack: Stack, people: People) -> int:
    rows = await stack.fetch(
        "SELECT count(*) AS n FROM identity.refresh_tokens WHERE user_id = $1", people.agent.user_id
    )
    return int(rows[0]["n"])


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    return int(response.headers["retry-after"])


@pytest_asyncio.fixture
async def elsewhere(stack: Stack, api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway as seen from another source address."""
    transport = httpx.ASGITransport(
        app=stack.apps["gateway"], raise_app_exceptions=False, client=("203.0.113.9", 4711)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
        yield client


async def device_token_of(api: httpx.AsyncClient, people: People) -> str:
    response = await sign_in(api, people.agent.email, people.agent.password)
    assert response.status_code == 200, response.text
    token: str = response.json()["device_token"]
    assert token.startswith("dev1.")
    return token


class TestTheAccountIsSlowedNotLocked:
    async def test_five_failures_are_free_then_the_next_attempt_waits(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail(api, people.agent.email, 5)

        response = await sign_in(api, people.agent.email, people.agent.password)

        assert 1 <= retry_after(response) <= 60
        assert "too many failed sign-ins" in response.json()["detail"]
        assert "access_token" not in response.json()
        assert await refresh_tokens(stack, people) == 0  # the right password did not get in

    async def test_the_wait_never_exceeds_a_minute_however_many_failures(
        self, api: httpx.AsyncClient, elsewhere: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail(api, people.agent.email, 5)
        # Attackers elsewhere have failed 95 more times on this account.
        await stack.fetch(
            "UPDATE identity.sign_in_throttles SET failures = 99, wait_until = NULL"
            " WHERE subject_kind = 'account'"
        )
        await fail(elsewhere, people.agent.email, 1)

        wait = retry_after(await sign_in(elsewhere, people.agent.email, people.agent.password))

        assert 30 < wait <= 60
        rows = await throttles(stack)
        assert rows["account"]["failures"] == 100

    async def test_unknown_accounts_are_answered_the_same_way(
        self, api: httpx.AsyncClient, elsewhere: httpx.AsyncClient, people: People
    ) -> None:
        await fail(api, people.agent.email, 5)
        await fail(elsewhere, "nobody@example.com", 5)

        known = await sign_in(api, people.agent.email, WRONG)
        unknown = await sign_in(elsewhere, "nobody@example.com", WRONG)

        assert retry_after(known) == retry_after(unknown)
        strip = ("request_id",)
        assert {k: v for k, v in known.json().items() if k not in strip} == {
            k: v for k, v in unknown.json().items() if k not in strip
        }

    async def test_failures_are_stored_without_the_email(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail(api, "Nobody@Example.com", 3)

        rows = await throttles(stack)

        assert set(rows) == {"address", "account"}
        assert rows["address"]["subject"] == "127.0.0.1"
        assert rows["account"]["failures"] == 3
        assert rows["account"]["wait_until"] is None  # still free
        assert "nobody" not in str(rows["account"]["subject"]).lower()

    async def test_failures_older_than_the_window_start_a_new_count(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail(api, people.agent.email, 4)
        await stack.fetch(
            "UPDATE identity.sign_in_throttles SET first_failed_at = now() - interval '16 minutes'"
        )

        await fail(api, people.agent.email, 2)

        rows = await throttles(stack)
        assert rows["account"]["failures"] == 2
        assert rows["account"]["wait_until"] is None

    async def test_a_success_forgets_the_account_but_not_the_address(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await fail(api, people.agent.email, 4)

        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 200

        rows = await throttles(stack)
        assert "account" not in rows
        assert rows["address"]["failures"] == 4


class TestTheAttackersAddressIsThrottledHard:
    async def test_guessing_across_accounts_from_one_address_waits(
        self, api: httpx.AsyncClient, elsewhere: httpx.AsyncClient, people: People
    ) -> None:
        for n in range(10):
            await fail(api, f"victim{n}@example.com", 1)

        from_there = await sign_in(api, people.colleague.email, people.colleague.password)
        from_elsewhere = await sign_in(elsewhere, people.colleague.email, people.colleague.password)

        assert retry_after(from_there) >= 1
        assert from_elsewhere.status_code == 200  # the accounts themselves are not throttled

    async def test_the_address_wait_grows_to_fifteen_minutes(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await fail(api, "first@example.com", 1)
        await stack.fetch(
            "UPDATE identity.sign_in_throttles SET failures = 40, wait_until = NULL"
            " WHERE subject_kind = 'address'"
        )
        await fail(api, "another@example.com", 1)

        assert 600 < retry_after(await sign_in(api, "third@example.com", WRONG)) <= 900


class TestAStrangerCannotLockARealUserOut:
    async def test_a_known_device_signs_in_while_the_shared_address_and_account_wait(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await device_token_of(api, people)
        # Someone behind the same office address guesses the agent's password, and others'.
        await fail(api, people.agent.email, 5)
        await fail(api, "someone@example.com", 5)
        assert retry_after(await sign_in(api, people.agent.email, people.agent.password)) >= 1

        response = await sign_in(api, people.agent.email, people.agent.password, device)

        assert response.status_code == 200, response.text
        assert response.json()["device_token"] == device  # the same device keeps its token
        accounts = await stack.fetch(
            "SELECT failures FROM identity.sign_in_throttles WHERE subject_kind = 'account'"
        )
        assert [r["failures"] for r in accounts] == [5]  # someone's; the agent's were forgotten

    async def test_a_device_token_is_bound_to_its_account(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        device = await device_token_of(api, people)
        await fail(api, people.colleague.email, 5)

        response = await sign_in(api, people.colleague.email, people.colleague.password, device)

        assert retry_after(response) >= 1

    async def test_a_forged_device_token_gets_no_pass(self, api: httpx.AsyncClient, people: People) -> None:
        device = await device_token_of(api, people)
        forged = device[:-4] + ("AAAA" if not device.endswith("AAAA") else "BBBB")
        await fail(api, people.agent.email, 5)

        response = await sign_in(api, people.agent.email, people.agent.password, forged)

        assert retry_after(response) >= 1

    async def test_guessing_with_a_device_token_is_throttled_on_that_device(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await device_token_of(api, people)
        await fail(api, people.agent.email, 5, device)

        assert retry_after(await sign_in(api, people.agent.email, people.agent.password, device)) >= 1
        rows = await throttles(stack)
        assert set(rows) == {"device"}  # neither the address nor the account was charged
        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 200
