"""The client overview through the gateway: every part, scoping, and the merged OpenAPI."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.claims_support import report_claim
from tests.conftest import People, Stack
from tests.policies_support import create_client, issue_policy, today
from tests.views_support import (
    CLIENTS,
    assert_problem,
    overview_path,
    record_interaction,
    underwriting_with_requirement,
)


async def _complain(api: httpx.AsyncClient, people: People, client_id: str) -> dict[str, object]:
    response = await api.post(
        f"{CLIENTS}/{client_id}/complaints",
        json={"summary": "说这款年金险每年收益5%但实际没有", "category": "misleading_sales"},
        headers=people.agent.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


class TestClientAtAGlance:
    async def test_profile_policies_applications_claims_and_complaints(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(
            api,
            people.agent,
            name="赵敏",
            phone="13812345678",
            consent={"purpose": "personal_data", "text_version": "2025-01"},
        )
        await record_interaction(
            api, people.agent, client["id"], kind="call", next_follow_up_on=today().isoformat()
        )
        policy = await issue_policy(
            api, people.agent, client["id"], admin=people.admin, effective_on=today() - timedelta(days=100)
        )
        application = await underwriting_with_requirement(
            api, people, people.agent, client["id"], due_in_days=3
        )
        claim = await report_claim(api, people.agent, policy["id"])
        complaint = await _complain(api, people, client["id"])

        response = await api.get(overview_path(client["id"]), headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is False
        assert sorted(s["service"] for s in body["sources"]) == ["claims", "clients", "policies"]
        assert body["profile"]["name"] == "赵敏"
        assert body["profile"]["phone"] != "13812345678"
        assert "****" in body["profile"]["phone"]
        assert "13812345678" not in response.text
        assert body["next_follow_up_on"] == today().isoformat()
        assert body["tier"] is not None
        assert isinstance(body["tier_history"], list)
        assert {"critical_illness", "accident", "medical", "death"} <= set(
            str(body["coverage_gaps"]).split("'")
        )
        assert [c["id"] for c in body["complaints"]] == [complaint["id"]]
        assert [(p["id"], p["status"]) for p in body["policies"]] == [(policy["id"], "in_force")]
        [open_application] = body["open_applications"]
        assert open_application["application"]["id"] == application["id"]
        assert [r["status"] for r in open_application["requirements"]] == ["pending"]
        assert [(c["id"], c["status"]) for c in body["claims"]] == [(claim["id"], "reported")]
        assert "last_client_update_at" in body["claims"][0]

    async def test_the_team_lead_sees_a_team_members_client(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)

        response = await api.get(overview_path(client["id"]), headers=people.lead.headers)

        assert response.status_code == 200, response.text
        assert response.json()["profile"]["id"] == client["id"]


class TestOutOfReach:
    async def test_a_colleagues_client_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.colleague, name="钱多多")

        response = await api.get(overview_path(client["id"]), headers=people.agent.headers)

        problem = assert_problem(response, 404)
        assert "钱多多" not in str(problem)

    async def test_another_teams_client_is_404_for_the_lead(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.outsider)

        assert_problem(await api.get(overview_path(client["id"]), headers=people.lead.headers), 404)

    async def test_an_unknown_client_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        path = overview_path("00000000-0000-4000-8000-000000000000")

        assert_problem(await api.get(path, headers=people.agent.headers), 404)

    async def test_an_id_that_is_not_a_uuid_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(overview_path("abc"), headers=people.agent.headers), 404)


class TestDocumented:
    async def test_the_merged_openapi_has_each_view_once_under_its_public_path(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        stack.apps["gateway"].state.openapi_merger.forget()

        document = (await api.get("/openapi.json")).json()

        paths = document["paths"]
        assert "get" in paths["/api/v1/clients/{client_id}/overview"]
        assert "get" in paths["/api/v1/agenda"]
        assert "get" in paths["/api/v1/reports/business"]
        operation_ids = [
            op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict)
        ]
        assert len(operation_ids) == len(set(operation_ids))
