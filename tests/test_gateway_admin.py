"""Administration at the gateway: teams, users, who sees whom, API keys."""

from __future__ import annotations

import json
import uuid

import httpx
import jwt

from tests.conftest import People, Stack
from tests.test_gateway_auth import assert_problem

NEW_USER = {
    "email": "New.Agent@Example.com",
    "password": "a long enough password",
    "full_name": "New Agent",
    "role": "agent",
}


class TestTeams:
    async def test_admin_creates_and_lists_teams(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await api.post("/api/v1/teams", json={"name": "East"}, headers=people.admin.headers)

        assert created.status_code == 201
        listed = await api.get("/api/v1/teams", headers=people.admin.headers)
        assert [t["name"] for t in listed.json()["items"]] == ["East", "North", "South"]
        audit = await stack.fetch(
            "SELECT action, actor FROM identity.audit_log WHERE action = 'team.created'"
        )
        assert audit[0]["actor"] == f"user:{people.admin.user_id}"

    async def test_idempotency_key_creates_the_team_once(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        headers = {**people.admin.headers, "Idempotency-Key": "team-east-1"}

        first = await api.post("/api/v1/teams", json={"name": "East"}, headers=headers)
        again = await api.post("/api/v1/teams", json={"name": "East"}, headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert len(await stack.fetch("SELECT id FROM identity.teams WHERE name = 'East'")) == 1

    async def test_duplicate_team_name_is_409(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(
            await api.post("/api/v1/teams", json={"name": "North"}, headers=people.admin.headers), 409
        )

    async def test_agent_cannot_create_teams(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        assert_problem(
            await api.post("/api/v1/teams", json={"name": "East"}, headers=people.agent.headers), 403
        )
        assert await stack.fetch("SELECT id FROM identity.teams WHERE name = 'East'") == []


class TestCreateUser:
    async def test_admin_creates_an_agent(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        response = await api.post(
            "/api/v1/users",
            json={**NEW_USER, "team_id": str(people.north_team_id)},
            headers=people.admin.headers,
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["email"] == "new.agent@example.com"
        assert "password" not in body
        assert "password_hash" not in body
        assert response.headers["etag"] == 'W/"1"'
        rows = await stack.fetch(
            "SELECT password_hash FROM identity.users WHERE id = $1", uuid.UUID(body["id"])
        )
        assert rows[0]["password_hash"].startswith("$argon2id$")
        audit = await stack.fetch("SELECT after FROM identity.audit_log WHERE action = 'user.created'")
        assert "password" not in audit[0]["after"]
        signed_in = await api.post(
            "/api/v1/auth/token", json={"email": "new.agent@example.com", "password": NEW_USER["password"]}
        )
        assert signed_in.status_code == 200

    async def test_the_work_location_travels_in_the_access_token(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        created = await api.post(
            "/api/v1/users",
            json={**NEW_USER, "team_id": str(people.north_team_id), "location": "浦东办公室"},
            headers=people.admin.headers,
        )
        assert created.json()["location"] == "浦东办公室"
        signed_in = await api.post(
            "/api/v1/auth/token", json={"email": "new.agent@example.com", "password": NEW_USER["password"]}
        )
        claims = jwt.decode(signed_in.json()["access_token"], options={"verify_signature": False})
        assert claims["loc"] == "浦东办公室"

    async def test_agent_gets_403(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        response = await api.post(
            "/api/v1/users",
            json={**NEW_USER, "team_id": str(people.north_team_id)},
            headers=people.agent.headers,
        )

        assert_problem(response, 403)
        assert await stack.fetch("SELECT id FROM identity.users WHERE email = 'new.agent@example.com'") == []

    async def test_duplicate_email_is_409(self, api: httpx.AsyncClient, people: People) -> None:
        body = {**NEW_USER, "email": people.colleague.email.upper(), "team_id": str(people.north_team_id)}

        assert_problem(await api.post("/api/v1/users", json=body, headers=people.admin.headers), 409)

    async def test_unknown_field_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        body = {**NEW_USER, "team_id": str(people.north_team_id), "is_active": False, "version": 7}

        problem = assert_problem(
            await api.post("/api/v1/users", json=body, headers=people.admin.headers), 422
        )

        assert {e["field"] for e in problem["errors"]} == {"is_active", "version"}  # type: ignore[attr-defined]
        assert await stack.fetch("SELECT id FROM identity.users WHERE email = 'new.agent@example.com'") == []

    async def test_short_password_is_422(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        body = {**NEW_USER, "password": "short", "team_id": str(people.north_team_id)}

        assert_problem(await api.post("/api/v1/users", json=body, headers=people.admin.headers), 422)
        assert await stack.fetch("SELECT id FROM identity.users WHERE email = 'new.agent@example.com'") == []

    async def test_agent_without_team_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        problem = assert_problem(
            await api.post("/api/v1/users", json=NEW_USER, headers=people.admin.headers), 422
        )

        assert problem["errors"] == [{"field": "team_id", "message": "required for the agent role"}]
        assert await stack.fetch("SELECT id FROM identity.users WHERE email = 'new.agent@example.com'") == []

    async def test_unknown_team_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        body = {**NEW_USER, "team_id": str(uuid.uuid4())}

        assert_problem(await api.post("/api/v1/users", json=body, headers=people.admin.headers), 422)


class TestUserVisibility:
    async def test_admin_lists_users_with_filters_and_pages(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        first = await api.get("/api/v1/users", params={"limit": 4}, headers=people.admin.headers)
        rest = await api.get(
            "/api/v1/users",
            params={"limit": 4, "cursor": first.json()["next_cursor"]},
            headers=people.admin.headers,
        )
        north_agents = await api.get(
            "/api/v1/users",
            params={"role": "agent", "team_id": str(people.north_team_id)},
            headers=people.admin.headers,
        )
        by_email = await api.get(
            "/api/v1/users", params={"email": "OPS@example.com"}, headers=people.admin.headers
        )

        assert len(first.json()["items"]) == 4
        assert len(rest.json()["items"]) == 2
        assert rest.json()["next_cursor"] is None
        assert {u["email"] for u in north_agents.json()["items"]} == {
            people.agent.email,
            people.colleague.email,
        }
        assert [u["id"] for u in by_email.json()["items"]] == [str(people.ops.user_id)]

    async def test_bad_cursor_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get("/api/v1/users?cursor=garbage", headers=people.admin.headers), 422)

    async def test_team_lead_sees_their_team_only(self, api: httpx.AsyncClient, people: People) -> None:
        own = await api.get(f"/api/v1/users/{people.agent.user_id}", headers=people.lead.headers)
        other = await api.get(f"/api/v1/users/{people.outsider.user_id}", headers=people.lead.headers)

        assert own.status_code == 200
        assert own.json()["team_id"] == str(people.north_team_id)
        assert_problem(other, 404)

    async def test_agent_sees_only_themselves(self, api: httpx.AsyncClient, people: People) -> None:
        own = await api.get(f"/api/v1/users/{people.agent.user_id}", headers=people.agent.headers)
        colleague = await api.get(f"/api/v1/users/{people.colleague.user_id}", headers=people.agent.headers)

        assert own.status_code == 200
        assert_problem(colleague, 404)

    async def test_ops_reads_any_user_to_hand_out_equipment_but_lists_none(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        # Operations staff give devices to holders in every team (issue 14, finding 9: the devices
        # service checks a holder in the directory on their behalf).
        for person in (people.ops, people.agent, people.outsider):
            read = await api.get(f"/api/v1/users/{person.user_id}", headers=people.ops.headers)
            assert read.status_code == 200
        assert_problem(await api.get("/api/v1/users", headers=people.ops.headers), 403)
        changed = await api.patch(
            f"/api/v1/users/{people.agent.user_id}",
            json={"full_name": "Not Theirs To Change"},
            headers={**people.ops.headers, "If-Match": "*"},
        )
        assert_problem(changed, 403)

    async def test_only_admins_list_users(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get("/api/v1/users", headers=people.lead.headers), 403)


class TestUpdateUser:
    async def test_admin_moves_an_agent_to_another_team(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        url = f"/api/v1/users/{people.agent.user_id}"
        etag = (await api.get(url, headers=people.admin.headers)).headers["etag"]

        moved = await api.patch(
            url,
            json={"team_id": str(people.south_team_id)},
            headers={**people.admin.headers, "If-Match": etag},
        )

        assert moved.status_code == 200
        assert moved.json()["team_id"] == str(people.south_team_id)
        assert moved.json()["version"] == 2
        audit = await stack.fetch(
            "SELECT before, after FROM identity.audit_log WHERE action = 'user.updated'"
        )
        before, after = json.loads(audit[0]["before"]), json.loads(audit[0]["after"])
        assert before["team_id"] == str(people.north_team_id)
        assert after["team_id"] == str(people.south_team_id)
        assert set(after) == {"team_id", "version", "updated_at"}

    async def test_stale_if_match_is_412_and_missing_is_428(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        url = f"/api/v1/users/{people.agent.user_id}"

        stale = await api.patch(
            url, json={"full_name": "X"}, headers={**people.admin.headers, "If-Match": 'W/"9"'}
        )
        missing = await api.patch(url, json={"full_name": "X"}, headers=people.admin.headers)

        assert_problem(stale, 412)
        assert_problem(missing, 428)

    async def test_team_lead_cannot_change_users(self, api: httpx.AsyncClient, people: People) -> None:
        url = f"/api/v1/users/{people.agent.user_id}"

        response = await api.patch(
            url, json={"role": "team_lead"}, headers={**people.lead.headers, "If-Match": "*"}
        )

        assert_problem(response, 403)


class TestApiKeys:
    async def _create(self, api: httpx.AsyncClient, people: People, scopes: list[str]) -> dict[str, str]:
        response = await api.post(
            "/api/v1/api-keys",
            json={"name": "Broker sync", "user_id": str(people.agent.user_id), "scopes": scopes},
            headers=people.admin.headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, str] = response.json()
        return body

    async def test_key_is_shown_once_and_stored_as_a_hash(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await self._create(api, people, ["clients:read"])

        assert created["key"].startswith(f"crm_{created['prefix']}_")
        listed = (await api.get("/api/v1/api-keys", headers=people.admin.headers)).json()["items"]
        assert listed[0]["prefix"] == created["prefix"]
        assert "key" not in listed[0]
        rows = await stack.fetch("SELECT key_hash FROM identity.api_keys")
        assert rows[0]["key_hash"] != created["key"]
        assert len(rows[0]["key_hash"]) == 64

    async def test_unknown_scope_is_422(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        response = await api.post(
            "/api/v1/api-keys",
            json={"name": "x", "user_id": str(people.agent.user_id), "scopes": ["everything"]},
            headers=people.admin.headers,
        )

        assert_problem(response, 422)
        assert await stack.fetch("SELECT id FROM identity.api_keys") == []

    async def test_key_works_through_the_proxy_until_revoked(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await self._create(api, people, ["clients:read", "clients:write"])
        key_headers = {"X-API-Key": created["key"]}

        listed = await api.get("/api/v1/clients", headers=key_headers)
        assert listed.status_code == 200, listed.text
        assert (
            await api.get("/api/v1/clients", headers={"Authorization": f"ApiKey {created['key']}"})
        ).status_code == 200
        used = await stack.fetch("SELECT last_used_at FROM identity.api_keys")
        assert used[0]["last_used_at"] is not None

        revoked = await api.delete(f"/api/v1/api-keys/{created['id']}", headers=people.admin.headers)
        assert revoked.status_code == 204

        attempt = await api.post(
            "/api/v1/clients", json={"name": "张三", "channel": "cold"}, headers=key_headers
        )
        assert_problem(attempt, 401)
        assert await stack.fetch("SELECT id FROM clients.clients") == []
        assert_problem(await api.get("/api/v1/clients", headers=key_headers), 401)

    async def test_key_scopes_limit_what_it_may_do(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await self._create(api, people, ["clients:read"])

        attempt = await api.post(
            "/api/v1/clients", json={"name": "张三", "channel": "cold"}, headers={"X-API-Key": created["key"]}
        )

        assert_problem(attempt, 403)
        assert await stack.fetch("SELECT id FROM clients.clients") == []

    async def test_unknown_key_is_401(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get("/api/v1/clients", headers={"X-API-Key": "crm_deadbeef_nope"}), 401)
        assert_problem(await api.get("/api/v1/clients", headers={"X-API-Key": "not-even-a-key"}), 401)
