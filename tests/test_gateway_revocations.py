"""Tokens do not outlive their user (issue 14, finding 6): deactivation, role change, team change,
logout and API key revocation take effect within 5 seconds on every path — through the gateway and
on direct calls to a service, which verifies tokens itself. Every app pulls the gateway's
revocations each second (crmkit/revocations.py); these tests wait for that, at most 5 s."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from crmkit.auth import Role, issue_access_token
from crmkit.revocations import REVOCATIONS_SCOPE, SERVICE_ACCOUNT
from gateway.identity.revocations import FeedAnswers
from tests.clients_support import CLIENTS, client_body
from tests.conftest import PASSWORD, People, Person, Stack
from tests.test_gateway_auth import assert_problem

PROPAGATION_SECONDS = 5.0


async def refused_everywhere(stack: Stack, api: httpx.AsyncClient, headers: dict[str, str]) -> float:
    """Seconds until both the gateway and the clients service answer 401 to ``headers``."""
    started = time.monotonic()
    async with stack.client("clients") as direct:
        while time.monotonic() - started < PROPAGATION_SECONDS:
            via_gateway = await api.get(CLIENTS, headers=headers)
            straight = await direct.get(CLIENTS, headers=headers)
            if via_gateway.status_code == straight.status_code == 401:
                assert "revoked" in via_gateway.json()["detail"]
                return time.monotonic() - started
            await asyncio.sleep(0.1)
    raise AssertionError(f"still accepted after {PROPAGATION_SECONDS} s: {via_gateway.status_code}")


async def patch_user(api: httpx.AsyncClient, people: People, person: Person, **changes: Any) -> None:
    current = await api.get(f"/api/v1/users/{person.user_id}", headers=people.admin.headers)
    changed = await api.patch(
        f"/api/v1/users/{person.user_id}",
        json=changes,
        headers={**people.admin.headers, "If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text


async def sign_in(api: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    response = await api.post("/api/v1/auth/token", json={"email": person.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def clients_of(stack: Stack, person: Person) -> int:
    rows = await stack.fetch(
        "SELECT count(*) AS n FROM clients.clients WHERE owner_agent_id = $1", person.user_id
    )
    return int(rows[0]["n"])


class TestUserChanges:
    async def test_a_deactivated_agent_is_refused_everywhere(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        assert (await api.get(CLIENTS, headers=people.agent.headers)).status_code == 200

        await patch_user(api, people, people.agent, is_active=False)

        took = await refused_everywhere(stack, api, people.agent.headers)
        assert took < PROPAGATION_SECONDS
        created = await api.post(CLIENTS, json=client_body(), headers=people.agent.headers)
        assert_problem(created, 401)
        assert await clients_of(stack, people.agent) == 0

    async def test_a_role_change_ends_the_old_tokens_and_a_new_sign_in_carries_the_new_role(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await patch_user(api, people, people.colleague, role="team_lead")

        await refused_everywhere(stack, api, people.colleague.headers)
        fresh = await sign_in(api, people.colleague)
        me = await api.get("/api/v1/me", headers=bearer(fresh))
        assert me.status_code == 200
        assert me.json()["role"] == "team_lead"

    async def test_a_team_change_ends_the_old_tokens(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await patch_user(api, people, people.agent, team_id=str(people.south_team_id))

        await refused_everywhere(stack, api, people.agent.headers)

    async def test_a_name_change_ends_nothing(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await patch_user(api, people, people.agent, full_name="Agent Renamed")
        await asyncio.sleep(1.5)  # more than one pull

        assert (await api.get(CLIENTS, headers=people.agent.headers)).status_code == 200
        async with stack.client("clients") as direct:
            assert (await direct.get(CLIENTS, headers=people.agent.headers)).status_code == 200


class TestLogout:
    async def test_logout_ends_that_sessions_access_token_but_not_another_sessions(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        phone = await sign_in(api, people.agent)
        laptop = await sign_in(api, people.agent)

        out = await api.post("/api/v1/auth/logout", json={"refresh_token": phone["refresh_token"]})
        assert out.status_code == 204

        await refused_everywhere(stack, api, bearer(phone))
        assert (await api.get(CLIENTS, headers=bearer(laptop))).status_code == 200


class TestApiKeys:
    async def test_a_revoked_keys_tokens_are_refused_on_direct_calls_too(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await api.post(
            "/api/v1/api-keys",
            json={"name": "Broker sync", "user_id": str(people.agent.user_id), "scopes": ["clients:read"]},
            headers=people.admin.headers,
        )
        key = created.json()
        resolver = stack.apps["gateway"].state.api_key_resolver
        minted = {"Authorization": (await resolver.authorization_for(key["key"])).decode()}
        assert (await api.get(CLIENTS, headers=minted)).status_code == 200

        revoked = await api.delete(f"/api/v1/api-keys/{key['id']}", headers=people.admin.headers)
        assert revoked.status_code == 204

        assert_problem(await api.get(CLIENTS, headers={"X-API-Key": key["key"]}), 401)
        await refused_everywhere(stack, api, minted)


class TestTheFeed:
    async def test_apps_read_it_with_their_own_narrow_token(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await patch_user(api, people, people.agent, is_active=False)
        settings = stack.apps["clients"].state.settings
        token = issue_access_token(
            settings,
            user_id=SERVICE_ACCOUNT,
            role=Role.OPS,
            team_id=None,
            scopes=frozenset({REVOCATIONS_SCOPE}),
        )

        feed = await api.get("/api/v1/auth/revocations", headers={"Authorization": f"Bearer {token}"})

        assert feed.status_code == 200, feed.text
        assert [(i["kind"], uuid.UUID(i["subject"])) for i in feed.json()["items"]] == [
            ("user", people.agent.user_id)
        ]
        # That token can read nothing else.
        assert (await api.get(CLIENTS, headers={"Authorization": f"Bearer {token}"})).status_code in (
            403,
            404,
        )

    async def test_agents_may_not_read_it(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get("/api/v1/auth/revocations", headers=people.agent.headers), 403)


class TestTheFeedsAnswers:
    """The gateway encodes one answer per ``since`` and second for the seven services' polls."""

    async def test_one_answer_serves_a_second_and_a_committed_revocation_drops_it(self) -> None:
        now = [100.0]
        answers = FeedAnswers(clock=lambda: now[0])
        computed: list[int] = []

        async def compute() -> bytes:
            computed.append(1)
            return f"page {len(computed)}".encode()

        assert await answers.answer(5.0, compute) == b"page 1"
        assert await answers.answer(5.0, compute) == b"page 1"
        assert await answers.answer(6.0, compute) == b"page 2"  # another question
        now[0] += 1.0
        assert await answers.answer(5.0, compute) == b"page 3"  # a second later
        FeedAnswers.forget_all()  # what committing a revocation does (revocations.revoke)
        assert await answers.answer(5.0, compute) == b"page 4"
