"""Who sees which clients (agent: own, team lead: team, admin: all, ops: none), API-key scopes,
and reassignment to another agent."""

from __future__ import annotations

import uuid

import httpx
import pytest

from crmkit.auth import issue_access_token
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_rows,
    client_body,
    count_audit,
    count_clients,
    create_client,
    if_match,
    stored_version,
)
from tests.conftest import People, Person, Stack


async def visible_names(api: httpx.AsyncClient, person: Person) -> set[str]:
    response = await api.get(CLIENTS, headers=person.headers)
    assert response.status_code == 200, response.text
    return {item["name"] for item in response.json()["items"]}


@pytest.fixture
async def book(api: httpx.AsyncClient, people: People) -> dict[str, dict[str, object]]:
    """One client each for the agent, the colleague (both North) and the outsider (South)."""
    return {
        "agent": await create_client(api, people.agent, name="Agent's"),
        "colleague": await create_client(api, people.colleague, name="Colleague's"),
        "outsider": await create_client(api, people.outsider, name="Outsider's"),
    }


class TestWhoSeesWhat:
    async def test_agent_sees_only_own_clients(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, object]]
    ) -> None:
        assert await visible_names(api, people.agent) == {"Agent's"}

    async def test_team_lead_sees_the_team(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, object]]
    ) -> None:
        assert await visible_names(api, people.lead) == {"Agent's", "Colleague's"}
        response = await api.get(f"{CLIENTS}/{book['outsider']['id']}", headers=people.lead.headers)
        assert_problem(response, 404)

    async def test_admin_sees_everyone(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, object]]
    ) -> None:
        assert await visible_names(api, people.admin) == {"Agent's", "Colleague's", "Outsider's"}

    async def test_filtering_by_another_owner_does_not_widen_the_scope(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, object]]
    ) -> None:
        response = await api.get(
            CLIENTS, params={"owner_agent_id": str(people.colleague.user_id)}, headers=people.agent.headers
        )
        assert response.json()["items"] == []

    async def test_ops_is_refused_client_data(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        assert_problem(await api.get(CLIENTS, headers=people.ops.headers), 403)
        assert_problem(await api.get(f"{CLIENTS}/{book['agent']['id']}", headers=people.ops.headers), 403)
        assert_problem(await api.get(f"{CLIENTS}/{uuid.uuid4()}", headers=people.ops.headers), 403)
        assert_problem(await api.post(CLIENTS, json=client_body(), headers=people.ops.headers), 403)
        assert await count_clients(stack) == 3


class TestAnotherAgentsClient:
    """Another agent's client id answers 404 for every verb, and nothing changes."""

    async def test_read_is_404(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, object]]
    ) -> None:
        response = await api.get(f"{CLIENTS}/{book['colleague']['id']}", headers=people.agent.headers)
        problem = assert_problem(response, 404)
        assert problem["detail"] == "no such client"

    async def test_edit_is_404_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        theirs = str(book["colleague"]["id"])
        audit_before = await count_audit(stack)

        response = await api.patch(
            f"{CLIENTS}/{theirs}", json={"name": "Mine now"}, headers=if_match(people.agent, 1)
        )

        assert_problem(response, 404)
        assert await stored_version(stack, theirs) == 1
        assert await count_audit(stack) == audit_before
        assert [e["action"] for e in await audit_rows(stack, theirs)] == ["client.created"]

    async def test_delete_is_404_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        theirs = str(book["outsider"]["id"])
        audit_before = await count_audit(stack)

        response = await api.delete(f"{CLIENTS}/{theirs}", headers=if_match(people.lead, 1))

        assert_problem(response, 404)
        assert await count_clients(stack, live_only=True) == 3
        assert await count_audit(stack) == audit_before


def api_key_person(stack: Stack, person: Person, *scopes: str) -> Person:
    """A token as the gateway mints it for an integrator's API key: the owner's role, fewer scopes."""
    settings = stack.apps["gateway"].state.settings
    token = issue_access_token(
        settings,
        user_id=person.user_id,
        role=person.role,
        team_id=person.team_id,
        scopes=frozenset(scopes),
        api_key_id=uuid.uuid4(),
    )
    return Person(person.user_id, person.email, person.password, person.role, person.team_id, token)


class TestApiKeyScopes:
    async def test_read_scope_reads_but_cannot_write(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        reader = api_key_person(stack, people.agent, "clients:read")

        assert await visible_names(api, reader) == {"Agent's"}
        assert_problem(await api.post(CLIENTS, json=client_body(), headers=reader.headers), 403)
        patch = await api.patch(
            f"{CLIENTS}/{book['agent']['id']}", json={"notes": "x"}, headers=if_match(reader, 1)
        )
        assert_problem(patch, 403)
        assert await count_clients(stack) == 3

    async def test_write_scope_alone_cannot_read(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        writer = api_key_person(stack, people.agent, "clients:write")

        assert_problem(await api.get(CLIENTS, headers=writer.headers), 403)
        created = await api.post(CLIENTS, json=client_body(name="By key"), headers=writer.headers)
        assert created.status_code == 201
        [entry] = await audit_rows(stack, created.json()["id"])
        assert entry["actor"].startswith("api_key:")


class TestReassignment:
    async def test_team_lead_hands_a_client_to_a_colleague(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        client_id = str(book["agent"]["id"])

        response = await api.patch(
            f"{CLIENTS}/{client_id}",
            json={"owner_agent_id": str(people.colleague.user_id)},
            headers=if_match(people.lead, 1),
        )

        assert response.status_code == 200, response.text
        assert response.json()["owner_agent_id"] == str(people.colleague.user_id)
        assert response.json()["team_id"] == str(people.north_team_id)
        assert response.json()["version"] == 2
        assert await visible_names(api, people.colleague) == {"Agent's", "Colleague's"}
        assert await visible_names(api, people.agent) == set()
        entry = (await audit_rows(stack, client_id))[-1]
        assert entry["action"] == "client.reassigned"
        assert entry["before"]["owner_agent_id"] == str(people.agent.user_id)
        assert entry["after"]["owner_agent_id"] == str(people.colleague.user_id)

    async def test_admin_moves_a_client_to_another_team(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, object]]
    ) -> None:
        response = await api.patch(
            f"{CLIENTS}/{book['agent']['id']}",
            json={"owner_agent_id": str(people.outsider.user_id)},
            headers=if_match(people.admin, 1),
        )

        assert response.status_code == 200, response.text
        assert response.json()["team_id"] == str(people.south_team_id)
        assert "Agent's" in await visible_names(api, people.outsider)
        assert "Agent's" not in await visible_names(api, people.lead)

    @pytest.mark.parametrize(
        ("caller", "target", "message"),
        [
            pytest.param("agent", "colleague", "only an admin or team lead", id="agent-may-not-reassign"),
            pytest.param("lead", "outsider", "no such agent in your scope", id="lead-outside-team"),
            pytest.param("admin", "ops", "no such agent in your scope", id="ops-cannot-own-clients"),
            pytest.param("admin", "nobody", "no such agent in your scope", id="unknown-user"),
        ],
    )
    async def test_refused_reassignment_is_422_and_nothing_changes(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        book: dict[str, dict[str, object]],
        caller: str,
        target: str,
        message: str,
    ) -> None:
        client_id = str(book["agent"]["id"])
        target_id = uuid.uuid4() if target == "nobody" else getattr(people, target).user_id
        audit_before = await count_audit(stack)

        response = await api.patch(
            f"{CLIENTS}/{client_id}",
            json={"owner_agent_id": str(target_id)},
            headers=if_match(getattr(people, caller), 1),
        )

        problem = assert_problem(response, 422, field="owner_agent_id")
        assert message in problem["errors"][0]["message"]
        assert await stored_version(stack, client_id) == 1
        assert await count_audit(stack) == audit_before

    async def test_null_owner_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        response = await api.patch(
            f"{CLIENTS}/{book['agent']['id']}",
            json={"owner_agent_id": None},
            headers=if_match(people.admin, 1),
        )
        assert_problem(response, 422, field="owner_agent_id")
        [row] = await stack.fetch(
            "SELECT owner_agent_id, version FROM clients.clients WHERE id = $1",
            uuid.UUID(str(book["agent"]["id"])),
        )
        assert (row["owner_agent_id"], row["version"]) == (people.agent.user_id, 1)

    async def test_identity_unreachable_is_503_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, object]]
    ) -> None:
        client_id = str(book["agent"]["id"])
        stack.mesh.down.add("gateway.internal")  # only the clients → gateway call; the test still gets in
        try:
            response = await api.patch(
                f"{CLIENTS}/{client_id}",
                json={"owner_agent_id": str(people.colleague.user_id)},
                headers=if_match(people.lead, 1),
            )
        finally:
            stack.mesh.down.discard("gateway.internal")

        assert_problem(response, 503)
        assert await stored_version(stack, client_id) == 1
