# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Complaints (manual 六.3): received → investigating → resolved → reported, with the facts, the
resolution and a handling report with lessons learned; other moves answer 409."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.clients.complaints.transitions import COMPLAINT_TRANSITIONS
from tests import policies_support
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_actions,
    count_audit,
    count_rows,
    create_client,
    if_match,
)
from tests.conftest import People, Person, Stack


async def receive(api: httpx.AsyncClient, person: Person, client_id: str, **body: Any) -> dict[str, Any]:
    body = {"summary": "说这款年金险每年收益5%，实际没有", "category": "misleading_sales", **body}
    response = await api.post(f"{CLIENTS}/{client_id}/complaints", json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def move(
    api: httpx.AsyncClient, person: Person, complaint: dict[str, Any], version: int, **body: Any
) -> httpx.Response:
    path = f"{CLIENTS}/{complaint['client_id']}/complaints/{complaint['id']}"
    return await api.patch(path, json=body, headers=if_match(person, version))


async def stored_status(stack: Stack, complaint_id: str) -> tuple[str, int]:
    [row] = await stack.fetch(
        "SELECT status, version FROM clients.complaints WHERE id = $1", uuid.UUID(complaint_id)
    )
    return str(row["status"]), int(row["version"])


class TestHandling:
    async def test_the_whole_way_to_the_report(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="杨秀英", birth_date="1980-05-06")
        policy = await policies_support.issue_policy(api, people.agent, client["id"], admin=people.admin)
        policy_id = policy["id"]
        complaint = await receive(api, people.agent, client["id"], policy_id=policy_id)
        assert complaint["status"] == "received"
        assert complaint["next_statuses"] == ["investigating"]
        assert complaint["policy_id"] == policy_id

        steps: list[dict[str, Any]] = [
            {"status": "investigating"},
            {
                "status": "resolved",
                "facts": "录音显示口头承诺了5%收益",
                "resolution": "协调保险公司出具条款解读，犹豫期内协助退保",
                "compliance_findings": ["exaggerated_returns", "verbal_promises"],
            },
            {
                "status": "reported",
                "report_summary": "已退保，客户接受",
                "lessons_learned": "分红收益必须说明不确定",
            },
        ]
        for version, step in enumerate(steps, start=1):
            response = await move(api, people.agent, complaint, version, **step)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == step["status"]

        done = response.json()
        assert done["next_statuses"] == []
        assert done["investigating_at"] is not None
        assert done["resolved_at"] is not None
        assert done["reported_at"] is not None
        report = await api.get(
            f"{CLIENTS}/{client['id']}/complaints/{complaint['id']}/report", headers=people.agent.headers
        )
        assert report.status_code == 200, report.text
        assert report.json()["client_name"] == "杨秀英"
        assert report.json()["lessons_learned"] == "分红收益必须说明不确定"
        assert report.json()["compliance_findings"] == ["exaggerated_returns", "verbal_promises"]
        actions = await audit_actions(stack)
        assert actions[-4:] == [
            "complaint.received",
            "complaint.investigating",
            "complaint.resolved",
            "complaint.reported",
        ]

    async def test_a_resolved_complaint_may_be_reopened(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])
        await move(api, people.agent, complaint, 1, status="investigating")
        await move(api, people.agent, complaint, 2, status="resolved", facts="f", resolution="r")
        reopened = await move(api, people.agent, complaint, 3, status="investigating")
        assert reopened.status_code == 200, reopened.text
        assert reopened.json()["status"] == "investigating"

    async def test_notes_without_a_status_change(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])
        response = await move(api, people.agent, complaint, 1, facts="called the insurer")
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["version"]) == ("received", 2)

    async def test_the_complaints_in_scope_by_status(self, api: httpx.AsyncClient, people: People) -> None:
        mine = await create_client(api, people.agent)
        theirs = await create_client(api, people.outsider)
        first = await receive(api, people.agent, mine["id"])
        await receive(api, people.agent, mine["id"], summary="second")
        await receive(api, people.outsider, theirs["id"])
        await move(api, people.agent, first, 1, status="investigating")

        everything = (await api.get(f"{CLIENTS}/complaints", headers=people.agent.headers)).json()
        open_ones = (
            await api.get(
                f"{CLIENTS}/complaints", params={"status": "investigating"}, headers=people.agent.headers
            )
        ).json()
        admin_view = (await api.get(f"{CLIENTS}/complaints", headers=people.admin.headers)).json()
        assert everything["items"][0]["summary"] == "second"
        assert len(everything["items"]) == 2
        assert [c["id"] for c in open_ones["items"]] == [first["id"]]
        assert len(admin_view["items"]) == 3


class TestRefused:
    @pytest.mark.parametrize(
        ("start", "target"),
        [
            ("received", "reported"),
            ("received", "resolved"),
            ("investigating", "reported"),
            ("investigating", "received"),
        ],
    )
    async def test_a_move_the_table_does_not_allow_is_409_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, start: str, target: str
    ) -> None:
        assert target not in COMPLAINT_TRANSITIONS[start]  # type: ignore[index]
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])
        version = 1
        if start == "investigating":
            await move(api, people.agent, complaint, 1, status="investigating")
            version = 2
        audit_before = await count_audit(stack)

        response = await move(
            api,
            people.agent,
            complaint,
            version,
            status=target,
            facts="f",
            resolution="r",
            report_summary="s",
            lessons_learned="l",
        )

        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/illegal-transition")
        assert problem["current_state"] == start
        assert problem["requested_state"] == target
        assert problem["allowed_next_states"] == sorted(COMPLAINT_TRANSITIONS[start])  # type: ignore[index]
        assert not {"current_status", "allowed", "allowed_next", "allowed_next_statuses"} & problem.keys()
        assert all(state in problem["detail"] for state in problem["allowed_next_states"])
        assert await stored_status(stack, complaint["id"]) == (start, version)
        assert await count_audit(stack) == audit_before

    async def test_resolving_without_facts_and_resolution_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])
        await move(api, people.agent, complaint, 1, status="investigating")
        response = await move(api, people.agent, complaint, 2, status="resolved", facts="f")
        assert_problem(response, 422, field="resolution")
        assert await stored_status(stack, complaint["id"]) == ("investigating", 2)

    async def test_a_reported_complaint_is_closed(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])
        await move(api, people.agent, complaint, 1, status="investigating")
        await move(api, people.agent, complaint, 2, status="resolved", facts="f", resolution="r")
        await move(
            api, people.agent, complaint, 3, status="reported", report_summary="s", lessons_learned="l"
        )
        response = await move(api, people.agent, complaint, 4, summary="rewritten")
        problem = assert_problem(response, 409)
        assert "current_state" not in problem  # an edit of a closed record, not a state move
        assert await stored_status(stack, complaint["id"]) == ("reported", 4)

        reopened = await move(api, people.agent, complaint, 4, status="investigating")
        problem = assert_problem(reopened, 409)
        assert problem["current_state"] == "reported"
        assert problem["requested_state"] == "investigating"
        assert problem["allowed_next_states"] == []
        assert await stored_status(stack, complaint["id"]) == ("reported", 4)
        summary = await stack.fetch(
            "SELECT summary FROM clients.complaints WHERE id = $1", uuid.UUID(complaint["id"])
        )
        assert summary[0]["summary"] == complaint["summary"]

    async def test_no_report_before_it_is_reported(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])
        response = await api.get(
            f"{CLIENTS}/{client['id']}/complaints/{complaint['id']}/report", headers=people.agent.headers
        )
        assert_problem(response, 409)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"summary": ""}, "summary", id="empty-summary"),
            pytest.param({"category": "weather"}, "category", id="unknown-category"),
            pytest.param({"status": "resolved"}, "status", id="status-is-not-set-on-receipt"),
            pytest.param({"received_at": "2999-01-01T00:00:00Z"}, "received_at", id="future"),
            pytest.param({"policy_id": "P-123"}, "policy_id", id="policy-not-a-uuid"),
            pytest.param(
                {"compliance_findings": ["hidden_exclusions", "hidden_exclusions"]},
                "compliance_findings",
                id="finding-twice",
            ),
        ],
    )
    async def test_bad_complaint_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/complaints",
            json={"summary": "s", "category": "service", **body},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "complaints") == 0

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.colleague)
        complaint = await receive(api, people.colleague, client["id"])
        base = f"{CLIENTS}/{client['id']}/complaints"
        headers = if_match(people.agent, 1)
        for response in (
            await api.get(base, headers=headers),
            await api.post(base, json={"summary": "s", "category": "service"}, headers=headers),
            await api.get(f"{base}/{complaint['id']}", headers=headers),
            await api.patch(f"{base}/{complaint['id']}", json={"status": "investigating"}, headers=headers),
            await api.get(f"{base}/{complaint['id']}/report", headers=headers),
        ):
            assert_problem(response, 404)
        assert await stored_status(stack, complaint["id"]) == ("received", 1)
        assert await count_rows(stack, "complaints") == 1


class TestThePolicyReference:
    """Issue 14, finding 9: a complaint's policy is checked with the policies service, which owns it."""

    async def test_a_made_up_policy_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        body = {"summary": "理赔太慢", "category": "claim", "policy_id": str(uuid.uuid4())}

        response = await api.post(
            f"{CLIENTS}/{client['id']}/complaints", json=body, headers=people.agent.headers
        )

        assert_problem(response, 422, field="policy_id")
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.complaints"))[0]["n"] == 0

    async def test_another_agents_policy_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        theirs = await create_client(api, people.colleague, birth_date="1980-05-06")
        policy = await policies_support.issue_policy(api, people.colleague, theirs["id"], admin=people.admin)
        mine = await create_client(api, people.agent)
        body = {"summary": "理赔太慢", "category": "claim", "policy_id": policy["id"]}

        response = await api.post(
            f"{CLIENTS}/{mine['id']}/complaints", json=body, headers=people.agent.headers
        )

        problem = assert_problem(response, 422, field="policy_id")
        assert "no such policy" in problem["detail"]
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.complaints"))[0]["n"] == 0

    async def test_a_policy_of_another_client_of_mine_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        other = await create_client(api, people.agent, name="李强", birth_date="1980-05-06")
        policy = await policies_support.issue_policy(api, people.agent, other["id"], admin=people.admin)
        client = await create_client(api, people.agent)
        complaint = await receive(api, people.agent, client["id"])

        response = await move(api, people.agent, complaint, complaint["version"], policy_id=policy["id"])

        problem = assert_problem(response, 422, field="policy_id")
        assert "not this client's" in problem["detail"]
        assert await stored_status(stack, complaint["id"]) == ("received", complaint["version"])

    async def test_the_policies_service_down_is_503_with_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        stack.mesh.down.add("policies.internal")
        body = {"summary": "理赔太慢", "category": "claim", "policy_id": str(uuid.uuid4())}

        response = await api.post(
            f"{CLIENTS}/{client['id']}/complaints", json=body, headers=people.agent.headers
        )

        assert_problem(response, 503)
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.complaints"))[0]["n"] == 0
