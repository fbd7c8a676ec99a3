"""Insurer decisions carry evidence (issue 16, item 5): the insurer's reference and a decision date on
every underwriting decision and on the issue, and the application's dates in their real order —
applied ≤ submitted ≤ decided ≤ issued ≤ receipt ≤ return visit, none in the future. Each refusal is
a 422 naming both dates, with nothing stored."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import People, Stack
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    act,
    application_body,
    assert_problem,
    counts,
    create_application,
    create_client,
    create_product,
    decision,
    if_match,
    issue_body,
    pay_first_premium,
    today,
    walk_to_approved,
)


async def _underwriting(
    api: httpx.AsyncClient, people: People, *, applied_days_ago: int = 0, submitted_days_ago: int = 0
) -> dict[str, Any]:
    client = await create_client(api, people.agent)
    product = await create_product(api, people.admin)
    application = await create_application(
        api,
        people.agent,
        client["id"],
        product["id"],
        applied_on=(today() - timedelta(days=applied_days_ago)).isoformat(),
    )
    path = f"{APPLICATIONS}/{application['id']}"
    submitted_on = (today() - timedelta(days=submitted_days_ago)).isoformat()
    app = await act(
        api, people.agent, f"{path}/submit", application["version"], {"submitted_on": submitted_on}
    )
    return await act(api, people.agent, f"{path}/underwriting", app["version"])


async def _stored(stack: Stack, application_id: str) -> dict[str, Any]:
    [row] = await stack.fetch(
        "SELECT status, version, decided_on, decision_reference, policy_id FROM policies.applications"
        " WHERE id = $1",
        uuid.UUID(application_id),
    )
    return dict(row)


class TestDecisionsCarryTheInsurersReference:
    async def test_approval_stores_reference_and_date(self, api: httpx.AsyncClient, people: People) -> None:
        app = await _underwriting(api, people, applied_days_ago=10, submitted_days_ago=8)
        decided = today() - timedelta(days=2)
        approved = await act(
            api,
            people.agent,
            f"{APPLICATIONS}/{app['id']}/approve",
            app["version"],
            {"insurer_reference": " UW-2026-000123 ", "decided_on": decided.isoformat()},
        )
        assert approved["status"] == "approved"
        assert (approved["decision_reference"], approved["decided_on"]) == (
            "UW-2026-000123",
            decided.isoformat(),
        )
        assert approved["applied_on"] == (today() - timedelta(days=10)).isoformat()
        assert approved["submitted_on"] == (today() - timedelta(days=8)).isoformat()

    @pytest.mark.parametrize(("action", "status"), [("decline", "declined"), ("postpone", "postponed")])
    async def test_decline_and_postponement_carry_them_too(
        self, api: httpx.AsyncClient, people: People, action: str, status: str
    ) -> None:
        app = await _underwriting(api, people)
        body = decision(reason="既往症风险过高", insurer_reference="UW-DECL-9")
        moved = await act(api, people.agent, f"{APPLICATIONS}/{app['id']}/{action}", app["version"], body)
        assert (moved["status"], moved["status_reason"]) == (status, "既往症风险过高")
        assert (moved["decision_reference"], moved["decided_on"]) == ("UW-DECL-9", today().isoformat())

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"decided_on": "2026-01-01"}, id="missing"),
            pytest.param({"insurer_reference": "   ", "decided_on": "2026-01-01"}, id="blank"),
            pytest.param({"insurer_reference": None, "decided_on": "2026-01-01"}, id="null"),
            pytest.param({"insurer_reference": "x" * 101, "decided_on": "2026-01-01"}, id="too-long"),
        ],
    )
    async def test_a_decision_without_an_insurer_reference_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any]
    ) -> None:
        app = await _underwriting(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{app['id']}/approve", json=body, headers=if_match(people.agent, app["version"])
        )
        assert_problem(response, 422, field="insurer_reference")
        assert await counts(stack) == before
        stored = await _stored(stack, app["id"])
        assert (stored["status"], stored["version"], stored["decision_reference"]) == (
            "underwriting",
            app["version"],
            None,
        )

    async def test_a_decision_without_a_date_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        app = await _underwriting(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{app['id']}/decline",
            json={"insurer_reference": "UW-1", "reason": "拒保"},
            headers=if_match(people.agent, app["version"]),
        )
        assert_problem(response, 422, field="decided_on")
        assert await counts(stack) == before

    async def test_an_issue_without_an_insurer_reference_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        approved = await walk_to_approved(
            api, people.agent, await create_application(api, people.agent, client["id"], product["id"])
        )
        body = issue_body()
        del body["insurer_reference"]
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json=body,
            headers=if_match(people.agent, approved["version"]),
        )
        assert_problem(response, 422, field="insurer_reference")
        assert await counts(stack) == before
        assert (await _stored(stack, approved["id"]))["policy_id"] is None

    async def test_the_issue_reference_is_on_the_policy(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        approved = await walk_to_approved(
            api, people.agent, await create_application(api, people.agent, client["id"], product["id"])
        )
        await pay_first_premium(api, people.agent, approved)
        issued = await act(
            api,
            people.agent,
            f"{APPLICATIONS}/{approved['id']}/issue",
            approved["version"],
            issue_body(insurer_reference="CB-2026-77"),
        )
        policy = (await api.get(f"{BASE}/{issued['policy_id']}", headers=people.agent.headers)).json()
        assert (policy["issue_reference"], policy["issued_on"]) == ("CB-2026-77", today().isoformat())


class TestDatesInOrder:
    async def test_issued_on_2020_for_an_application_made_today_names_both_dates(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        """The issue's own example: ``issued_on=2020-01-01`` was accepted for an application made today."""
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        approved = await walk_to_approved(
            api, people.agent, await create_application(api, people.agent, client["id"], product["id"])
        )
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json=issue_body(issued_on=date(2020, 1, 1), effective_on=date(2020, 1, 2)),
            headers=if_match(people.agent, approved["version"]),
        )
        problem = assert_problem(response, 422, field="issued_on")
        assert f"issued_on 2020-01-01 is before applied_on {today().isoformat()}" in problem["detail"]
        assert await counts(stack) == before
        stored = await _stored(stack, approved["id"])
        assert (stored["status"], stored["version"], stored["policy_id"]) == (
            "approved",
            approved["version"],
            None,
        )

    async def test_an_issue_date_before_the_decision_names_both(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        app = await _underwriting(api, people, applied_days_ago=10, submitted_days_ago=9)
        decided = today() - timedelta(days=3)
        approved = await act(
            api, people.agent, f"{APPLICATIONS}/{app['id']}/approve", app["version"], decision(decided)
        )
        issued_on = today() - timedelta(days=5)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json=issue_body(issued_on=issued_on),
            headers=if_match(people.agent, approved["version"]),
        )
        problem = assert_problem(response, 422, field="issued_on")
        assert (
            f"issued_on {issued_on.isoformat()} is before decided_on {decided.isoformat()}"
            in problem["detail"]
        )
        assert await counts(stack) == before

    async def test_an_issue_date_before_the_submission_names_the_submission(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        app = await _underwriting(api, people, applied_days_ago=10, submitted_days_ago=5)
        approved = await act(
            api, people.agent, f"{APPLICATIONS}/{app['id']}/approve", app["version"], decision()
        )
        issued_on = today() - timedelta(days=6)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json=issue_body(issued_on=issued_on),
            headers=if_match(people.agent, approved["version"]),
        )
        problem = assert_problem(response, 422, field="issued_on")
        submitted = (today() - timedelta(days=5)).isoformat()
        assert f"issued_on {issued_on.isoformat()} is before submitted_on {submitted}" in problem["detail"]
        assert await counts(stack) == before
        assert (await _stored(stack, approved["id"]))["policy_id"] is None

    async def test_an_issue_date_in_the_future_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        approved = await walk_to_approved(
            api, people.agent, await create_application(api, people.agent, client["id"], product["id"])
        )
        tomorrow = today() + timedelta(days=1)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json=issue_body(issued_on=tomorrow),
            headers=if_match(people.agent, approved["version"]),
        )
        problem = assert_problem(response, 422, field="issued_on")
        assert f"issued_on {tomorrow.isoformat()} is in the future" in problem["detail"]
        assert await counts(stack) == before

    async def test_a_decision_before_submission_names_both(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        app = await _underwriting(api, people, applied_days_ago=6, submitted_days_ago=4)
        decided = today() - timedelta(days=5)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{app['id']}/approve",
            json=decision(decided),
            headers=if_match(people.agent, app["version"]),
        )
        problem = assert_problem(response, 422, field="decided_on")
        submitted = (today() - timedelta(days=4)).isoformat()
        assert f"decided_on {decided.isoformat()} is before submitted_on {submitted}" in problem["detail"]
        assert await counts(stack) == before
        assert (await _stored(stack, app["id"]))["status"] == "underwriting"

    async def test_a_decision_in_the_future_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        app = await _underwriting(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{app['id']}/decline",
            json=decision(today() + timedelta(days=2), reason="拒保"),
            headers=if_match(people.agent, app["version"]),
        )
        assert_problem(response, 422, field="decided_on")
        assert await counts(stack) == before
        assert (await _stored(stack, app["id"]))["decided_on"] is None

    async def test_a_submission_before_the_application_names_both(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        application = await create_application(api, people.agent, client["id"], product["id"])
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{application['id']}/submit",
            json={"submitted_on": "2020-01-01"},
            headers=if_match(people.agent, application["version"]),
        )
        problem = assert_problem(response, 422, field="submitted_on")
        assert f"submitted_on 2020-01-01 is before applied_on {today().isoformat()}" in problem["detail"]
        assert await counts(stack) == before

    async def test_an_application_dated_in_the_future_is_422_and_not_created(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        before = await counts(stack)
        body = application_body(
            client["id"], product["id"], applied_on=(today() + timedelta(days=1)).isoformat()
        )
        response = await api.post(APPLICATIONS, json=body, headers=people.agent.headers)
        assert_problem(response, 422, field="applied_on")
        assert await counts(stack) == before

    async def test_a_return_visit_before_the_receipt_names_both(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        application = await create_application(
            api,
            people.agent,
            client["id"],
            product["id"],
            applied_on=(today() - timedelta(days=9)).isoformat(),
        )
        approved = await walk_to_approved(
            api, people.agent, application, decided_on=today() - timedelta(days=8)
        )
        await pay_first_premium(api, people.agent, approved, paid_on=today() - timedelta(days=8))
        issued = await act(
            api,
            people.agent,
            f"{APPLICATIONS}/{approved['id']}/issue",
            approved["version"],
            issue_body(issued_on=today() - timedelta(days=7)),
        )
        path = f"{BASE}/{issued['policy_id']}"
        policy = (await api.get(path, headers=people.agent.headers)).json()
        signed_on = today() - timedelta(days=3)
        policy = await act(
            api, people.agent, f"{path}/receipt", policy["version"], {"signed_on": signed_on.isoformat()}
        )
        visited_on = today() - timedelta(days=4)
        before = await counts(stack)
        response = await api.post(
            f"{path}/return-visit",
            json={"visited_on": visited_on.isoformat(), "understood_cover": True, "signed_personally": True},
            headers=if_match(people.agent, policy["version"]),
        )
        problem = assert_problem(response, 422, field="visited_on")
        assert (
            f"visited_on {visited_on.isoformat()} is before receipt_signed_on {signed_on.isoformat()}"
            in (problem["detail"])
        )
        assert await counts(stack) == before
