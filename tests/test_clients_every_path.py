"""Another agent's client in any path is 404 and changes nothing: every route of the clients
service that names a client, read from the service's own OpenAPI document, so a new route is
checked the day it is added."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.clients_support import CLIENTS, CONSENT, assert_problem, create_client
from tests.conftest import People, Person, Stack

PHONE = "13812345678"
# A valid body for each write, so the 404 can only come from the scope check.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/{client_id}"): {"name": "Someone Else"},
    ("PUT", "/{client_id}/household"): {"annual_income": "300000.00"},
    ("POST", "/{client_id}/family-members"): {"relationship": "child", "name": "Xiaoyu"},
    ("PATCH", "/{client_id}/family-members/{member_id}"): {"name": "Xiaoyu Wang"},
    ("PUT", "/{client_id}/tiering"): {"need_score": 5, "capacity_score": 5, "decision_score": 5},
    ("PUT", "/{client_id}/tiering/override"): {"tier": "A", "reason": "ready to sign"},
    ("PUT", "/{client_id}/needs-assessment"): {"targets": {"medical": "1000000.00"}},
    ("POST", "/{client_id}/interactions"): {"kind": "note", "outcome": "called back"},
    ("PATCH", "/{client_id}/interactions/{interaction_id}"): {"outcome": "no answer"},
    ("POST", "/{client_id}/milestones"): {"kind": "custom", "title": "Wedding", "occurs_on": "2030-05-01"},
    ("PATCH", "/{client_id}/milestones/{milestone_id}"): {"title": "Graduation"},
    ("POST", "/{client_id}/complaints"): {"summary": "late answer", "category": "service"},
    ("PATCH", "/{client_id}/complaints/{complaint_id}"): {"status": "investigating"},
    ("POST", "/{client_id}/consents"): CONSENT,
    ("POST", "/{client_id}/consents/{consent_id}/withdraw"): {"reason": "asked to"},
    ("POST", "/{client_id}/reveal"): {"field": "phone", "reason": "filling in a form"},
}


def client_operations(stack: Stack) -> list[tuple[str, str]]:
    """(method, path under /api/v1/clients) of every operation that names a client."""
    paths: dict[str, dict[str, Any]] = stack.apps["clients"].openapi()["paths"]
    return sorted(
        (method.upper(), path.removeprefix(CLIENTS))
        for path, operations in paths.items()
        if "{client_id}" in path
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    )


async def snapshot(stack: Stack) -> dict[str, str]:
    """A digest of every table of the clients schema: any stored change shows."""
    tables = await stack.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'clients' AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    digests = {}
    for row in tables:
        name = row["table_name"]
        every_row = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
        [digest] = await stack.fetch(f'SELECT {every_row} AS d FROM clients."{name}" t')  # noqa: S608 - catalogue names
        digests[name] = str(digest["d"])
    return digests


async def a_full_file(api: httpx.AsyncClient, owner: Person) -> dict[str, str]:
    """A client of ``owner`` with one record of every kind; the ids each path template names."""
    client = await create_client(api, owner, name="Zhou Ting", phone=PHONE)
    base = f"{CLIENTS}/{client['id']}"

    async def created(path: str, body: dict[str, Any]) -> str:
        response = await api.post(f"{base}{path}", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    consents = await api.get(f"{base}/consents", headers=owner.headers)
    assert consents.status_code == 200, consents.text
    return {
        "client_id": client["id"],
        "member_id": await created("/family-members", {"relationship": "spouse", "name": "Sun Hao"}),
        "interaction_id": await created("/interactions", {"kind": "call", "outcome": "interested"}),
        "milestone_id": await created(
            "/milestones", {"kind": "school_entry", "title": "Primary school", "occurs_on": "2030-09-01"}
        ),
        "complaint_id": await created("/complaints", {"summary": "slow", "category": "service"}),
        "consent_id": consents.json()["items"][0]["id"],
    }


QUERIES = {"/{client_id}/consents/check": {"purpose": "marketing"}}
"""Required query parameters of a GET, by path template."""


class TestAnotherAgentsClientInAnyPath:
    @pytest.mark.parametrize("caller", ["agent", "outsider"])
    async def test_every_operation_is_404_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, caller: str
    ) -> None:
        ids = await a_full_file(api, people.colleague)
        operations = client_operations(stack)
        assert len(operations) >= 35, operations  # the routes of issue 4, at least
        person: Person = getattr(people, caller)
        before = await snapshot(stack)

        for method, template in operations:
            path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids.get(m[1], str(uuid.uuid4())), template)
            response = await api.request(
                method,
                f"{CLIENTS}{path}",
                json=BODIES.get((method, template), {}) if method in ("POST", "PUT", "PATCH") else None,
                headers={**person.headers, "If-Match": "*"},
            )
            problem = assert_problem(response, 404)
            assert ids["client_id"] not in str(problem.get("errors")), (method, template)

        assert await snapshot(stack) == before

    async def test_the_owner_reaches_the_same_records(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        ids = await a_full_file(api, people.colleague)
        for method, template in client_operations(stack):
            if method != "GET" or template.endswith("/report"):
                continue  # a report exists only once the complaint is reported
            if set(re.findall(r"\{(\w+)", template)) - ids.keys():
                continue  # a record of a kind this file does not make
            path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids.get(m[1], str(uuid.uuid4())), template)
            params = QUERIES.get(template)
            response = await api.get(f"{CLIENTS}{path}", params=params, headers=people.colleague.headers)
            assert response.status_code == 200, (template, response.text)
