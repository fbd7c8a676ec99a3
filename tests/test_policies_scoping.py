"""Object-level scope: agents see their clients' records, team leads the team's, admins all, ops none."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import People, Person, Stack
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    PROPOSALS,
    assert_problem,
    count,
    create_application,
    create_client,
    create_product,
    if_match,
    issue_policy,
)


async def _agents_policy(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    client = await create_client(api, people.agent)
    return await issue_policy(api, people.agent, client["id"], admin=people.admin)


class TestWhoSeesAPolicy:
    @pytest.mark.parametrize("who", ["agent", "lead", "admin"])
    async def test_owner_team_lead_and_admin_see_it(
        self, api: httpx.AsyncClient, people: People, who: str
    ) -> None:
        policy = await _agents_policy(api, people)
        person: Person = getattr(people, who)
        response = await api.get(f"{BASE}/{policy['id']}", headers=person.headers)
        assert response.status_code == 200, response.text
        listed = await api.get(BASE, params={"client_id": policy["client_id"]}, headers=person.headers)
        assert [p["id"] for p in listed.json()["items"]] == [policy["id"]]

    @pytest.mark.parametrize("who", ["colleague", "outsider"])
    async def test_other_agents_get_404_everywhere(
        self, api: httpx.AsyncClient, people: People, who: str
    ) -> None:
        policy = await _agents_policy(api, people)
        person: Person = getattr(people, who)
        assert_problem(await api.get(f"{BASE}/{policy['id']}", headers=person.headers), 404)
        assert_problem(await api.get(f"{BASE}/{policy['id']}/in-force", headers=person.headers), 404)
        assert_problem(
            await api.get(f"{APPLICATIONS}/{policy['application_id']}", headers=person.headers), 404
        )
        listed = await api.get(BASE, headers=person.headers)
        assert listed.json()["items"] == []

    async def test_another_team_lead_gets_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.outsider)
        policy = await issue_policy(api, people.outsider, client["id"], admin=people.admin)
        assert_problem(await api.get(f"{BASE}/{policy['id']}", headers=people.lead.headers), 404)

    async def test_ops_are_refused(self, api: httpx.AsyncClient, people: People) -> None:
        policy = await _agents_policy(api, people)
        assert_problem(await api.get(f"{BASE}/{policy['id']}", headers=people.ops.headers), 403)
        assert_problem(await api.get(BASE, headers=people.ops.headers), 403)

    async def test_unknown_policy_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(f"{BASE}/{uuid.uuid4()}", headers=people.agent.headers), 404)


class TestChangesOutOfScope:
    async def test_colleague_cannot_move_an_application(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        application = await create_application(api, people.agent, client["id"], product["id"])
        response = await api.post(
            f"{APPLICATIONS}/{application['id']}/submit", headers=if_match(people.colleague, 1)
        )
        assert_problem(response, 404)
        [row] = await stack.fetch(
            "SELECT status FROM policies.applications WHERE id = $1", uuid.UUID(application["id"])
        )
        assert row["status"] == "draft"

    async def test_lead_acting_for_the_team_keeps_the_agent_as_owner(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        application = await create_application(api, people.lead, client["id"], product["id"])
        assert application["owner_agent_id"] == str(people.agent.user_id)
        seen = await api.get(f"{APPLICATIONS}/{application['id']}", headers=people.agent.headers)
        assert seen.status_code == 200

    async def test_colleague_cannot_read_a_proposal(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        item = {
            "product_id": product["id"],
            "sum_insured": "1.00",
            "annual_premium": "1.00",
            "payment_years": 10,
        }
        made = await api.post(
            PROPOSALS, json={"client_id": client["id"], "items": [item]}, headers=people.agent.headers
        )
        assert made.status_code == 201, made.text
        assert_problem(
            await api.get(f"{PROPOSALS}/{made.json()['id']}", headers=people.colleague.headers), 404
        )
        assert await count(stack, "proposals") == 1
