# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""The annual review (年度检视, manual 五.1) as a workflow (issue 16, item 7): a due list of clients
with policies in force not reviewed in 12 months, a recorded review with its findings, a report
count, and the agent's agenda."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import People, Person, Stack
from tests.policies_support import BASE, assert_problem, counts, create_client, issue_policy, today

DUE = f"{BASE}/reviews/due"


def records(client_id: str) -> str:
    return f"{BASE}/reviews/{client_id}/records"


async def _client_with_policy(
    api: httpx.AsyncClient, people: People, person: Person, *, effective_days_ago: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    client = await create_client(api, person)
    policy = await issue_policy(
        api,
        person,
        client["id"],
        admin=people.admin,
        effective_on=today() - timedelta(days=effective_days_ago),
    )
    return client, policy


def _one_year_after(day: date) -> date:
    return day.replace(year=day.year + 1)


async def _due(api: httpx.AsyncClient, person: Person, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(DUE, params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def _review(**overrides: Any) -> dict[str, Any]:
    return {
        "reviewed_on": today().isoformat(),
        "findings": [
            {"kind": "coverage_gap", "wall": "medical", "detail": "只有社保，缺百万医疗"},
            {"kind": "income_change", "detail": "年收入由30万增至45万，寿险保额应提高"},
        ],
        "note": "客户同意下月看方案",
        **overrides,
    }


class TestDueList:
    async def test_clients_not_reviewed_in_twelve_months_are_due(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        old, policy = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        recent, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=100)
        await create_client(api, people.agent, name="无保单")

        [item] = await _due(api, people.agent)
        effective = date.fromisoformat(policy["effective_on"])
        assert item == {
            "client_id": old["id"],
            "policies_in_force": 1,
            "last_reviewed_on": None,
            "due_on": _one_year_after(effective).isoformat(),
            "overdue": True,
            "owner_agent_id": str(people.agent.user_id),
            "team_id": str(people.north_team_id),
        }
        ahead = await _due(api, people.agent, within_days=300)
        assert [i["client_id"] for i in ahead] == [old["id"], recent["id"]]
        assert ahead[1]["overdue"] is False

    async def test_in_the_callers_scope(self, api: httpx.AsyncClient, people: People) -> None:
        mine, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        theirs, _ = await _client_with_policy(api, people, people.outsider, effective_days_ago=500)

        assert [i["client_id"] for i in await _due(api, people.lead)] == [mine["id"]]
        assert [i["client_id"] for i in await _due(api, people.outsider)] == [theirs["id"]]
        assert await _due(api, people.colleague) == []
        assert {i["client_id"] for i in await _due(api, people.admin)} == {mine["id"], theirs["id"]}

    async def test_pages_follow_the_due_date(self, api: httpx.AsyncClient, people: People) -> None:
        first, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=500)
        second, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=450)
        page = (await api.get(DUE, params={"limit": 1}, headers=people.agent.headers)).json()
        assert [i["client_id"] for i in page["items"]] == [first["id"]]
        rest = await _due(api, people.agent, limit=1, cursor=page["next_cursor"])
        assert [i["client_id"] for i in rest] == [second["id"]]

    async def test_a_clients_policies_are_one_row_due_from_the_first_in_force(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client, first = await _client_with_policy(api, people, people.agent, effective_days_ago=500)
        await issue_policy(
            api, people.agent, client["id"], admin=people.admin, effective_on=today() - timedelta(days=400)
        )
        not_yet = today() - timedelta(days=600)  # issued only, not in force: no review for it
        await issue_policy(
            api, people.agent, client["id"], admin=people.admin, effective_on=not_yet, in_force=False
        )
        other, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=450)

        due = await _due(api, people.agent)
        assert [(i["client_id"], i["policies_in_force"]) for i in due] == [
            (client["id"], 2),
            (other["id"], 1),
        ]
        assert due[0]["due_on"] == _one_year_after(date.fromisoformat(first["effective_on"])).isoformat()
        for person in (people.lead, people.admin):
            assert await _due(api, person) == due
        page = (await api.get(DUE, params={"limit": 1}, headers=people.admin.headers)).json()
        assert [i["client_id"] for i in page["items"]] == [client["id"]]
        rest = await _due(api, people.admin, limit=1, cursor=page["next_cursor"])
        assert [i["client_id"] for i in rest] == [other["id"]]


class TestRecordedReview:
    async def test_a_review_is_recorded_with_its_findings_and_restarts_the_year(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client, policy = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        yesterday = today() - timedelta(days=1)  # its next due date is at most 365 days ahead, leap years too
        body = _review(reviewed_on=yesterday.isoformat())
        body["findings"].append(
            {"kind": "beneficiary_update", "policy_id": policy["id"], "detail": "二孩出生，受益人需加入"}
        )

        response = await api.post(records(client["id"]), json=body, headers=people.agent.headers)

        assert response.status_code == 201, response.text
        review = response.json()
        assert review["client_id"] == client["id"]
        assert review["reviewed_on"] == yesterday.isoformat()
        assert review["next_review_due_on"] == _one_year_after(yesterday).isoformat()
        assert [f["kind"] for f in review["findings"]] == [
            "coverage_gap",
            "income_change",
            "beneficiary_update",
        ]
        assert review["findings"][0]["wall"] == "medical"
        assert review["recorded_by"]
        assert await _due(api, people.agent) == []
        [again] = await _due(api, people.agent, within_days=365)
        assert (again["last_reviewed_on"], again["due_on"]) == (
            yesterday.isoformat(),
            review["next_review_due_on"],
        )

        listed = (await api.get(records(client["id"]), headers=people.lead.headers)).json()["items"]
        assert [r["id"] for r in listed] == [review["id"]]
        assert (await api.get(records(client["id"]), headers=people.outsider.headers)).json()["items"] == []
        [event] = await stack.fetch(
            "SELECT action FROM policies.audit_log WHERE resource_id = $1", uuid.UUID(review["id"])
        )
        assert event["action"] == "policy_review.recorded"

    async def test_a_policy_issued_after_a_review_keeps_the_clients_year(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        """Each policy keeps the client's last review date (review_clock.py): one sold after the
        review starts with it, instead of counting its own year from its effective date."""
        client, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        yesterday = today() - timedelta(days=1)
        response = await api.post(
            records(client["id"]),
            json=_review(reviewed_on=yesterday.isoformat()),
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        await issue_policy(
            api, people.agent, client["id"], admin=people.admin, effective_on=today() - timedelta(days=10)
        )

        [item] = await _due(api, people.agent, within_days=365)
        assert (item["policies_in_force"], item["last_reviewed_on"], item["due_on"]) == (
            2,
            yesterday.isoformat(),
            _one_year_after(yesterday).isoformat(),
        )

    async def test_the_business_report_counts_reviews_held(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        earlier = (today() - timedelta(days=60)).isoformat()
        for day in (earlier, today().isoformat()):
            response = await api.post(
                records(client["id"]), json=_review(reviewed_on=day), headers=people.agent.headers
            )
            assert response.status_code == 201, response.text
        period = {"from": (today() - timedelta(days=30)).isoformat(), "to": today().isoformat()}
        report = (
            await api.get(f"{BASE}/reports/business", params=period, headers=people.lead.headers)
        ).json()
        assert report["annual_reviews_held"] == 1
        assert report["date_bases"]["annual_reviews_held"] == "reviewed_on"

    async def test_the_agenda_shows_reviews_due(self, api: httpx.AsyncClient, people: People) -> None:
        client, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        response = await api.get("/api/v1/agenda", headers=people.agent.headers)
        assert response.status_code == 200, response.text
        [entry] = response.json()["reviews_due"]["items"]
        assert (entry["kind"], entry["client_id"]) == ("annual_review_due", client["id"])
        assert "never reviewed" in entry["detail"]


class TestBadReviews:
    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            pytest.param({"reviewed_on": "2999-01-01"}, "reviewed_on", id="future"),
            pytest.param(
                {"findings": [{"kind": "coverage_gap", "detail": "缺口"}]}, "findings.0", id="gap-no-wall"
            ),
            pytest.param(
                {"findings": [{"kind": "upsell", "detail": "x"}]}, "findings.0.kind", id="unknown-kind"
            ),
            pytest.param(
                {"findings": [{"kind": "other", "detail": "x", "policy_id": str(uuid.uuid4())}]},
                "findings.0.policy_id",
                id="not-the-clients-policy",
            ),
            pytest.param({"reviewed_on": None}, "reviewed_on", id="no-date"),
        ],
    )
    async def test_bad_review_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, overrides: dict[str, Any], field: str
    ) -> None:
        client, _ = await _client_with_policy(api, people, people.agent, effective_days_ago=400)
        before = await counts(stack)
        response = await api.post(
            records(client["id"]), json=_review(**overrides), headers=people.agent.headers
        )
        assert_problem(response, 422, field=field)
        assert await counts(stack) == before

    async def test_another_agents_client_is_404_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client, _ = await _client_with_policy(api, people, people.outsider, effective_days_ago=400)
        before = await counts(stack)
        response = await api.post(records(client["id"]), json=_review(), headers=people.agent.headers)
        assert_problem(response, 404)
        assert await counts(stack) == before
