# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Return visits (回访) recorded whatever their outcome (issue 16, item 6; manual 四.3, 六): a failed
visit keeps the policy out of "in force confirmed", raises a compliance flag the team lead sees and an
event, and puts a redo on the agent's agenda; the in-force date is the contract's effective date."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import People, Stack
from tests.policies_support import (
    BASE,
    WORKLISTS,
    act,
    assert_problem,
    counts,
    create_client,
    if_match,
    issue_policy,
    today,
)

FLAGS = f"{BASE}/compliance-flags"


async def _receipted(api: httpx.AsyncClient, people: People, *, days_ago: int = 6) -> dict[str, Any]:
    """A policy issued ``days_ago`` days ago (effective the same day), its receipt signed a day later."""
    client = await create_client(api, people.agent)
    policy = await issue_policy(
        api,
        people.agent,
        client["id"],
        admin=people.admin,
        in_force=False,
        effective_on=today() - timedelta(days=days_ago),
    )
    signed_on = today() - timedelta(days=days_ago - 1)
    return await act(
        api,
        people.agent,
        f"{BASE}/{policy['id']}/receipt",
        policy["version"],
        {"signed_on": signed_on.isoformat()},
    )


async def _visit(
    api: httpx.AsyncClient, people: People, policy: dict[str, Any], **answers: Any
) -> dict[str, Any]:
    body = {"visited_on": today().isoformat(), **answers}
    return await act(api, people.agent, f"{BASE}/{policy['id']}/return-visit", policy["version"], body)


class TestAFailedVisitIsRecorded:
    async def test_not_signed_personally_is_stored_flagged_and_kept_out_of_in_force(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _receipted(api, people)
        failed = await _visit(
            api, people, policy, understood_cover=True, signed_personally=False, note="投保单由配偶代签"
        )

        assert failed["status"] == "receipt_signed"
        assert failed["return_visit"] == {
            "visited_on": today().isoformat(),
            "reached": True,
            "understood_cover": True,
            "signed_personally": False,
            "passed": False,
            "failure_reasons": ["not_signed_personally"],
        }
        [row] = await stack.fetch(
            "SELECT reached, understood_cover, signed_personally, passed, note FROM policies.return_visits"
            " WHERE policy_id = $1",
            uuid.UUID(policy["id"]),
        )
        assert dict(row) == {
            "reached": True,
            "understood_cover": True,
            "signed_personally": False,
            "passed": False,
            "note": "投保单由配偶代签",
        }
        events = await stack.fetch(
            "SELECT action FROM policies.audit_log WHERE resource_id = $1 ORDER BY id",
            uuid.UUID(policy["id"]),
        )
        assert events[-1]["action"] == "policy.return_visit_failed"

        refused = await api.post(
            f"{BASE}/{policy['id']}/mark-in-force", headers=if_match(people.agent, failed["version"])
        )
        assert_problem(refused, 409)
        assert refused.json()["current_state"] == "receipt_signed"

    async def test_the_team_lead_sees_the_flag_and_other_teams_do_not(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _receipted(api, people)
        await _visit(api, people, policy, understood_cover=False, signed_personally=False)

        response = await api.get(FLAGS, headers=people.lead.headers)
        assert response.status_code == 200, response.text
        [flag] = response.json()["items"]
        assert (flag["policy_id"], flag["kind"], flag["raised_on"], flag["resolved_on"]) == (
            policy["id"],
            "return_visit_failed",
            today().isoformat(),
            None,
        )
        assert flag["reasons"] == ["cover_not_understood", "not_signed_personally"]
        assert flag["owner_agent_id"] == str(people.agent.user_id)
        assert [f["id"] for f in (await api.get(FLAGS, headers=people.agent.headers)).json()["items"]] == [
            flag["id"]
        ]
        assert (await api.get(FLAGS, headers=people.outsider.headers)).json()["items"] == []
        assert (await api.get(FLAGS, headers=people.colleague.headers)).json()["items"] == []

    async def test_an_unreached_client_is_a_failed_visit_without_answers(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _receipted(api, people)
        failed = await _visit(api, people, policy, reached=False)
        assert failed["return_visit"]["failure_reasons"] == ["unreached"]
        assert failed["return_visit"]["understood_cover"] is None

    async def test_the_redo_is_on_the_agents_agenda(self, api: httpx.AsyncClient, people: People) -> None:
        waiting = await _receipted(api, people, days_ago=8)
        failed = await _receipted(api, people)
        await _visit(api, people, failed, reached=False)

        pending = (await api.get(f"{WORKLISTS}/return-visits-pending", headers=people.agent.headers)).json()
        by_policy = {i["policy_id"]: i for i in pending["items"]}
        assert (by_policy[failed["id"]]["redo"], by_policy[failed["id"]]["failure_reasons"]) == (
            True,
            ["unreached"],
        )
        assert by_policy[failed["id"]]["last_visit_on"] == today().isoformat()
        assert (by_policy[waiting["id"]]["redo"], by_policy[waiting["id"]]["last_visit_on"]) == (False, None)
        agenda = (await api.get(f"{BASE}/agenda-lists", headers=people.agent.headers)).json()
        assert failed["id"] in {i["policy_id"] for i in agenda["return_visits_pending"]["items"] if i["redo"]}


class TestTheRedo:
    async def test_a_passing_redo_resolves_the_flag_and_the_in_force_date_is_the_effective_date(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _receipted(api, people)
        failed = await _visit(api, people, policy, reached=False)
        passed = await _visit(api, people, failed, understood_cover=True, signed_personally=True)
        assert passed["status"] == "return_visit_done"
        assert passed["return_visit"]["passed"] is True

        assert (await api.get(FLAGS, headers=people.lead.headers)).json()["items"] == []
        [resolved] = (await api.get(FLAGS, params={"state": "resolved"}, headers=people.lead.headers)).json()[
            "items"
        ]
        assert resolved["resolved_on"] == today().isoformat()
        visits = await stack.fetch(
            "SELECT passed FROM policies.return_visits WHERE policy_id = $1 ORDER BY created_at",
            uuid.UUID(policy["id"]),
        )
        assert [v["passed"] for v in visits] == [False, True]

        in_force = await act(api, people.agent, f"{BASE}/{policy['id']}/mark-in-force", passed["version"])
        assert in_force["status"] == "in_force"
        assert in_force["in_force_on"] == policy["effective_on"] != today().isoformat()

    async def test_a_redo_dated_before_the_failed_visit_names_both(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _receipted(api, people)
        failed = await _visit(api, people, policy, reached=False)
        earlier = today() - timedelta(days=1)
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/return-visit",
            json={"visited_on": earlier.isoformat(), "understood_cover": True, "signed_personally": True},
            headers=if_match(people.agent, failed["version"]),
        )
        problem = assert_problem(response, 422, field="visited_on")
        assert earlier.isoformat() in problem["detail"]
        assert today().isoformat() in problem["detail"]
        assert await counts(stack) == before


class TestBadVisits:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"reached": False, "signed_personally": False}, "body", id="unreached-with-answers"),
            pytest.param(
                {"reached": True, "understood_cover": True}, "body", id="reached-without-both-answers"
            ),
            pytest.param(
                {"understood_cover": "yes", "signed_personally": True}, "understood_cover", id="not-bool"
            ),
        ],
    )
    async def test_inconsistent_answers_are_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        policy = await _receipted(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/return-visit",
            json={"visited_on": today().isoformat(), **body},
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(response, 422, field=field)
        assert await counts(stack) == before
        stored = (await api.get(f"{BASE}/{policy['id']}", headers=people.agent.headers)).json()
        assert (stored["version"], stored["return_visit"]) == (policy["version"], None)

    async def test_a_visit_in_the_future_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _receipted(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/return-visit",
            json={"visited_on": (today() + timedelta(days=1)).isoformat(), "reached": False},
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(response, 422, field="visited_on")
        assert await counts(stack) == before

    async def test_an_unknown_flag_state_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(FLAGS, params={"state": "closed"}, headers=people.lead.headers), 422)


class TestTheLeadResolvesAFlag:
    async def test_the_team_lead_closes_a_flag_with_a_note(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _receipted(api, people)
        await _visit(api, people, policy, understood_cover=True, signed_personally=False)
        [flag] = (await api.get(FLAGS, headers=people.lead.headers)).json()["items"]

        response = await api.post(
            f"{FLAGS}/{flag['id']}/resolution",
            json={"resolution": "已核实：客户本人补签并确认，保单已撤单"},
            headers=people.lead.headers,
        )

        assert response.status_code == 200, response.text
        closed = response.json()
        assert (closed["resolved_on"], closed["resolution"]) == (
            today().isoformat(),
            "已核实：客户本人补签并确认，保单已撤单",
        )
        assert closed["resolved_by"] == f"user:{people.lead.user_id}"
        assert (await api.get(FLAGS, headers=people.lead.headers)).json()["items"] == []
        [event] = await stack.fetch(
            "SELECT action FROM policies.audit_log WHERE resource_id = $1", uuid.UUID(flag["id"])
        )
        assert event["action"] == "compliance_flag.resolved"

    async def test_agents_cannot_close_flags_and_a_closed_one_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _receipted(api, people)
        failed = await _visit(api, people, policy, reached=False)
        [flag] = (await api.get(FLAGS, headers=people.agent.headers)).json()["items"]
        path = f"{FLAGS}/{flag['id']}/resolution"
        before = await counts(stack)

        assert_problem(
            await api.post(path, json={"resolution": "自己关掉"}, headers=people.agent.headers), 403
        )
        assert_problem(await api.post(path, json={"resolution": "  "}, headers=people.lead.headers), 422)
        assert await counts(stack) == before

        await _visit(api, people, failed, understood_cover=True, signed_personally=True)
        again = await api.post(path, json={"resolution": "重复关闭"}, headers=people.lead.headers)
        problem = assert_problem(again, 409)
        assert "a later return visit passed" in problem["detail"]
        unknown = await api.post(
            f"{FLAGS}/{uuid.uuid4()}/resolution", json={"resolution": "x"}, headers=people.admin.headers
        )
        assert_problem(unknown, 404)
