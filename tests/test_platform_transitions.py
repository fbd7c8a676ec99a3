"""One 409 body for an illegal state move, in every service (issue 13).

The merged OpenAPI document declares it (``IllegalTransitionProblem``: ``current_state``,
``requested_state``, ``allowed_next_states``) on the operations that may answer it, in all four
services; and a real illegal move in each service answers exactly that shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import clients_support, devices_support
from tests.claims_support import issue_policy, move, report_claim
from tests.conftest import People
from tests.policies_support import APPLICATIONS, create_application, create_client, create_product
from tests.test_clients_complaints import move as move_complaint
from tests.test_clients_complaints import receive

SCHEMA = "#/components/schemas/IllegalTransitionProblem"
FIELDS = {"current_state", "requested_state", "allowed_next_states"}
SERVICES = ("clients", "policies", "claims", "devices", "tasks")


@pytest.fixture
async def document(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    assert "x-unavailable-services" not in response.json()["info"]
    body: dict[str, Any] = response.json()
    return body


def transition_operations(document: dict[str, Any]) -> dict[str, str]:
    """operationId → path of every operation whose 409 may be an illegal transition."""
    found = {}
    for path, item in document["paths"].items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            conflict = operation.get("responses", {}).get("409", {})
            for media in conflict.get("content", {}).values():
                schema = media.get("schema", {})
                refs = [s.get("$ref") for s in schema.get("anyOf", [schema])]
                if SCHEMA in refs:
                    found[operation["operationId"]] = path
    return found


class TestTheDocument:
    async def test_the_problem_is_one_schema_with_the_three_fields(self, document: dict[str, Any]) -> None:
        schema = document["components"]["schemas"]["IllegalTransitionProblem"]

        assert set(schema["required"]) >= FIELDS
        assert schema["properties"]["current_state"]["type"] == "string"
        assert schema["properties"]["requested_state"]["type"] == "string"
        assert schema["properties"]["allowed_next_states"]["items"]["type"] == "string"
        # No service publishes a twin of its own under another name.
        twins = [
            name for name in document["components"]["schemas"] if name.endswith("IllegalTransitionProblem")
        ]
        assert twins == ["IllegalTransitionProblem"]

    async def test_every_service_declares_it_on_its_moves(self, document: dict[str, Any]) -> None:
        paths = transition_operations(document).values()

        assert {path.split("/")[3] for path in paths} == set(SERVICES)

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("patch", "/api/v1/clients/{client_id}/complaints/{complaint_id}"),
            ("post", "/api/v1/policies/applications/{application_id}/submit"),
            ("post", "/api/v1/policies/applications/{application_id}/issue"),
            ("post", "/api/v1/policies/proposals/{proposal_id}/accept"),
            ("post", "/api/v1/claims/{claim_id}/transitions"),
            ("post", "/api/v1/devices/repairs/{repair_id}/start"),
            ("post", "/api/v1/devices/{device_id}/retire"),
        ],
    )
    async def test_known_moves_declare_it(self, document: dict[str, Any], method: str, path: str) -> None:
        operation = document["paths"][path][method]

        assert operation["operationId"] in transition_operations(document)

    async def test_other_409s_are_plain_problems(self, document: dict[str, Any]) -> None:
        # Creating a team with a taken name is a conflict, but no state move.
        conflict = document["paths"]["/api/v1/teams"]["post"]["responses"].get("409", {})
        for media in conflict.get("content", {}).values():
            assert SCHEMA not in str(media)


def assert_the_one_body(response: httpx.Response, document: dict[str, Any]) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    documented = set(document["components"]["schemas"]["IllegalTransitionProblem"]["properties"])
    assert set(body) <= documented, set(body) - documented
    assert set(body) >= FIELDS
    assert body["type"].endswith("/illegal-transition")
    assert body["allowed_next_states"] == sorted(body["allowed_next_states"])
    return body


class TestEachServiceAnswersIt:
    async def test_clients_a_complaint(
        self, api: httpx.AsyncClient, people: People, document: dict[str, Any]
    ) -> None:
        client = await clients_support.create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])

        response = await move_complaint(
            api, people.agent, complaint, complaint["version"], status="reported", report_summary="s"
        )

        body = assert_the_one_body(response, document)
        assert (body["current_state"], body["requested_state"]) == ("received", "reported")

    async def test_policies_an_application(
        self, api: httpx.AsyncClient, people: People, document: dict[str, Any]
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        draft = await create_application(api, people.agent, client["id"], product["id"])

        response = await api.post(
            f"{APPLICATIONS}/{draft['id']}/decline",
            json={"reason": "高风险", "insurer_reference": "UW-1", "decided_on": "2026-01-01"},
            headers={**people.agent.headers, "If-Match": f'W/"{draft["version"]}"'},
        )

        body = assert_the_one_body(response, document)
        assert (body["current_state"], body["requested_state"]) == ("draft", "declined")
        assert body["allowed_next_states"] == ["submitted", "withdrawn"]

    async def test_claims_a_claim(
        self, api: httpx.AsyncClient, people: People, document: dict[str, Any]
    ) -> None:
        policy = await issue_policy(api, people, people.agent)
        claim = await report_claim(api, people.agent, policy["id"])

        response = await move(api, people.agent, claim, "paid", paid_amount="100.00")

        body = assert_the_one_body(response, document)
        assert (body["current_state"], body["requested_state"]) == ("reported", "paid")

    async def test_devices_a_repair(
        self, api: httpx.AsyncClient, people: People, document: dict[str, Any]
    ) -> None:
        device = await devices_support.create_device(api, people.ops)
        check = await devices_support.record_check(api, people.ops, device["id"], {"temperature": None})
        repair = await devices_support.get_repair(api, people.ops, check["repair_id"])
        path = f"{devices_support.DEVICES}/repairs/{repair['id']}/start"
        started = await api.post(path, headers=devices_support.if_match(people.ops, repair["version"]))
        assert started.status_code == 200, started.text

        response = await api.post(
            path, headers=devices_support.if_match(people.ops, started.json()["version"])
        )

        body = assert_the_one_body(response, document)
        assert body["allowed_next_states"] == ["closed"]
