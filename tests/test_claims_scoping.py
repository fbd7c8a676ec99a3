"""Who sees which claims: the agent their own (the policy's owner), the team lead the team's, the
admin all, operations staff none; another agent's claim is 404 in every path and nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.claims_support import (
    CLAIMS,
    assert_problem,
    audit_rows,
    counts,
    days_ago,
    if_match,
    issue_policy,
    report_claim,
    stored,
)
from tests.conftest import People, Person, Stack


@pytest.fixture
async def book(api: httpx.AsyncClient, people: People, stack: Stack) -> dict[str, dict[str, Any]]:
    """One claim each for the agent, the colleague (both North) and the outsider (South)."""
    claims = {}
    for key in ("agent", "colleague", "outsider"):
        person: Person = getattr(people, key)
        policy = await issue_policy(api, people, person)
        claims[key] = await report_claim(api, person, policy["id"])
    return claims


async def visible(api: httpx.AsyncClient, person: Person, path: str = CLAIMS) -> set[str]:
    response = await api.get(path, headers=person.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


class TestWhoSeesWhat:
    async def test_agent_sees_only_own_claims(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, Any]]
    ) -> None:
        assert await visible(api, people.agent) == {book["agent"]["id"]}

    async def test_team_lead_sees_the_team(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, Any]]
    ) -> None:
        assert await visible(api, people.lead) == {book["agent"]["id"], book["colleague"]["id"]}

    async def test_admin_sees_everyone(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, Any]]
    ) -> None:
        assert await visible(api, people.admin) == {c["id"] for c in book.values()}

    async def test_work_lists_are_scoped_too(
        self, api: httpx.AsyncClient, people: People, stack: Stack, book: dict[str, dict[str, Any]]
    ) -> None:
        for claim in book.values():
            await stack.fetch(
                "UPDATE claims.claims SET last_client_update_at = now() - interval '10 days',"
                " documents_missing_since = $2 WHERE id = $1",
                uuid.UUID(claim["id"]),
                days_ago(30),
            )

        for path in ("updates-due", "documents-missing"):
            assert await visible(api, people.agent, f"{CLAIMS}/{path}") == {book["agent"]["id"]}
            assert await visible(api, people.lead, f"{CLAIMS}/{path}") == {
                book["agent"]["id"],
                book["colleague"]["id"],
            }
            assert await visible(api, people.outsider, f"{CLAIMS}/{path}") == {book["outsider"]["id"]}

    async def test_operations_staff_are_refused(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, Any]]
    ) -> None:
        assert_problem(await api.get(CLAIMS, headers=people.ops.headers), 403)
        assert_problem(await api.get(f"{CLAIMS}/{book['agent']['id']}", headers=people.ops.headers), 403)


class TestAnotherAgentsClaim:
    @pytest.mark.parametrize(
        ("method", "tail", "body"),
        [
            ("GET", "", None),
            ("GET", "/timeline", None),
            ("PATCH", "", {"claimed_amount": "1.00"}),
            ("POST", "/transitions", {"status": "withdrawn"}),
            ("POST", "/client-updates", {"channel": "phone", "summary": "hello"}),
            ("POST", "/documents", {"name": "体检报告"}),
            ("PATCH", "/documents/{document}", {"status": "received"}),
        ],
    )
    async def test_is_not_found_and_unchanged(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        book: dict[str, dict[str, Any]],
        method: str,
        tail: str,
        body: dict[str, Any] | None,
    ) -> None:
        theirs = book["colleague"]
        path = f"{CLAIMS}/{theirs['id']}{tail.format(document=theirs['documents'][0]['id'])}"
        before = (await counts(stack), await audit_rows(stack, theirs["id"]))

        response = await api.request(
            method, path, json=body, headers=if_match(people.agent, theirs["version"])
        )

        problem = assert_problem(response, 404)
        assert "no such claim" in problem["detail"]
        assert (await counts(stack), await audit_rows(stack, theirs["id"])) == before
        assert (await stored(stack, theirs["id"]))["version"] == theirs["version"]

    async def test_a_lead_of_another_team_does_not_see_it(
        self, api: httpx.AsyncClient, people: People, book: dict[str, dict[str, Any]]
    ) -> None:
        response = await api.get(f"{CLAIMS}/{book['outsider']['id']}", headers=people.lead.headers)

        assert_problem(response, 404)


class TestChecklistsAreData:
    async def test_every_claim_type_has_its_documents(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(f"{CLAIMS}/checklists", headers=people.agent.headers)

        assert response.status_code == 200, response.text
        checklists = {c["claim_type"]: [d["code"] for d in c["documents"]] for c in response.json()}
        assert set(checklists) == {"critical_illness", "medical", "accident", "death", "disability"}
        assert "death_certificate" in checklists["death"]
        assert "disability_assessment" in checklists["disability"]
        assert all("bank_account" in codes and "claim_form" in codes for codes in checklists.values())
