"""Signing in at the gateway: passwords, refresh-token rotation, logout, bad access tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt

from crmkit.auth import ALGORITHM, Role, issue_access_token
from tests.conftest import People, Stack

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


async def sign_in(api: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/token", json={"email": email, "password": password})


class TestSignIn:
    async def test_right_password_gives_a_working_token_pair(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await sign_in(api, people.agent.email.upper(), people.agent.password)

        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 900
        assert body["refresh_token"]
        me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["email"] == people.agent.email

    async def test_wrong_password_and_unknown_email_get_the_same_401(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        wrong = assert_problem(await sign_in(api, people.agent.email, "not the password at all"), 401)
        unknown = assert_problem(await sign_in(api, "nobody@example.com", people.agent.password), 401)

        assert wrong["detail"] == unknown["detail"]

    async def test_deactivated_user_cannot_sign_in(self, api: httpx.AsyncClient, people: People) -> None:
        current = await api.get(f"/api/v1/users/{people.agent.user_id}", headers=people.admin.headers)
        changed = await api.patch(
            f"/api/v1/users/{people.agent.user_id}",
            json={"is_active": False},
            headers={**people.admin.headers, "If-Match": current.headers["etag"]},
        )
        assert changed.status_code == 200

        assert_problem(await sign_in(api, people.agent.email, people.agent.password), 401)

    async def test_outdated_hash_parameters_are_upgraded_on_sign_in(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        from argon2 import PasswordHasher

        old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(people.agent.password)
        conn_sql = "UPDATE identity.users SET password_hash = $1 WHERE id = $2 RETURNING id"
        await stack.fetch(conn_sql, old, people.agent.user_id)

        assert (await sign_in(api, people.agent.email, people.agent.password)).status_code == 200

        rows = await stack.fetch(
            "SELECT password_hash FROM identity.users WHERE id = $1", people.agent.user_id
        )
        assert rows[0]["password_hash"] != old
        assert "m=1024,t=1,p=1" in rows[0]["password_hash"]


class TestRefreshRotation:
    async def test_refresh_gives_a_new_pair_and_uses_up_the_old_token(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        first = (await sign_in(api, people.agent.email, people.agent.password)).json()

        second = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

        assert second.status_code == 200
        assert second.json()["refresh_token"] != first["refresh_token"]
        third = await api.post("/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
        assert third.status_code == 200

    async def test_reusing_a_used_token_revokes_the_whole_family(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        first = (await sign_in(api, people.agent.email, people.agent.password)).json()
        second = (
            await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        ).json()

        replay = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

        assert_problem(replay, 401)
        legit = await api.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert_problem(legit, 401)
        rows = await stack.fetch("SELECT revoked_at FROM identity.refresh_tokens")
        assert rows
        assert all(r["revoked_at"] is not None for r in rows)

    async def test_expired_refresh_token_is_refused(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        pair = (await sign_in(api, people.agent.email, people.agent.password)).json()
        await stack.fetch("UPDATE identity.refresh_tokens SET expires_at = now() - interval '1 second'")

        assert_problem(
            await api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401
        )

    async def test_unknown_refresh_token_is_refused(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"}), 401)

    async def test_refresh_tokens_are_stored_only_as_hashes(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        pair = (await sign_in(api, people.agent.email, people.agent.password)).json()

        rows = await stack.fetch("SELECT token_hash FROM identity.refresh_tokens")

        assert [r["token_hash"] for r in rows] != [pair["refresh_token"]]
        assert len(rows[0]["token_hash"]) == 64


class TestLogout:
    async def test_logout_ends_the_session(self, api: httpx.AsyncClient, people: People) -> None:
        pair = (await sign_in(api, people.agent.email, people.agent.password)).json()

        out = await api.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})

        assert out.status_code == 204
        assert_problem(
            await api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401
        )


class TestMe:
    async def test_me_shows_the_signed_in_user(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get("/api/v1/me", headers=people.lead.headers)

        assert response.status_code == 200
        body = response.json()
        assert body["id"] == str(people.lead.user_id)
        assert body["role"] == "team_lead"
        assert body["team_id"] == str(people.north_team_id)
        assert "password_hash" not in body

    async def test_me_without_a_token_is_401(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get("/api/v1/me"), 401)


def forged(stack: Stack, **changes: object) -> str:
    settings = stack.apps["gateway"].state.settings
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "role": "agent",
        "team": None,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    secret = str(changes.pop("secret", settings.jwt_secret))
    claims.update(changes)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class TestBadAccessTokens:
    """Proxied routes: the gateway forwards the token, the service refuses it."""

    async def _proxied(self, api: httpx.AsyncClient, token: str) -> httpx.Response:
        return await api.get("/api/v1/clients", headers={"Authorization": f"Bearer {token}"})

    async def test_expired_token_is_401(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        settings = stack.apps["gateway"].state.settings
        token = issue_access_token(
            settings,
            user_id=people.agent.user_id,
            role=Role.AGENT,
            team_id=people.north_team_id,
            now=datetime.now(UTC) - timedelta(hours=1),
        )

        body = assert_problem(await self._proxied(api, token), 401)
        assert "expired" in str(body["detail"])

    async def test_tampered_signature_is_401(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        token = forged(stack, secret="someone-elses-secret-0123456789abcdef")

        assert_problem(await self._proxied(api, token), 401)

    async def test_tampered_payload_is_401(self, api: httpx.AsyncClient, people: People) -> None:
        header, _, signature = people.agent.token.split(".")
        payload = jwt.utils.base64url_encode(b'{"sub":"x","role":"admin"}').decode()

        assert_problem(await self._proxied(api, f"{header}.{payload}.{signature}"), 401)

    async def test_wrong_audience_is_401(self, api: httpx.AsyncClient, stack: Stack) -> None:
        body = assert_problem(await self._proxied(api, forged(stack, aud="another-api")), 401)
        assert "not meant" in str(body["detail"])

    async def test_gateway_routes_refuse_bad_tokens_too(self, api: httpx.AsyncClient, stack: Stack) -> None:
        token = forged(stack, aud="another-api")

        assert_problem(await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)
