"""A claim decision carries the insurer's reference and decision date (issue 16, item 5), in order:
reported ≤ submitted ≤ decided ≤ paid, none in the future; each refusal a 422 naming both dates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.claims_support import (
    assert_problem,
    counts,
    days_ago,
    issue_policy,
    move,
    moved,
    receive_all,
    report_claim,
    stored,
    submitted_claim,
)
from tests.conftest import People, Stack


@pytest.fixture
async def under_review(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    policy = await issue_policy(api, people, people.agent)
    claim = await report_claim(api, people.agent, policy["id"], reported_on=days_ago(10).isoformat())
    claim = await moved(api, people.agent, claim, "collecting_documents")
    claim = await receive_all(api, people.agent, claim)
    claim = await moved(api, people.agent, claim, "submitted", submitted_on=days_ago(6).isoformat())
    return await moved(api, people.agent, claim, "under_review")


class TestClaimDecisionEvidence:
    async def test_approval_stores_the_reference_and_the_insurers_date(
        self, api: httpx.AsyncClient, people: People, under_review: dict[str, Any]
    ) -> None:
        approved = await moved(
            api,
            people.agent,
            under_review,
            "approved",
            approved_amount="1000.00",
            insurer_reference="LP-2026-0042",
            decided_on=days_ago(2).isoformat(),
        )
        assert (approved["decision_reference"], approved["decided_on"]) == (
            "LP-2026-0042",
            days_ago(2).isoformat(),
        )

    @pytest.mark.parametrize("status", ["approved", "rejected"])
    async def test_a_decision_without_an_insurer_reference_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, under_review: dict[str, Any], status: str
    ) -> None:
        fields = {"approved_amount": "1000.00"} if status == "approved" else {"reason": "不属于保险责任"}
        before = await counts(stack)
        response = await move(api, people.agent, under_review, status, insurer_reference=None, **fields)
        assert_problem(response, 422, field="insurer_reference")
        assert await counts(stack) == before
        row = await stored(stack, under_review["id"])
        assert (row["status"], row["version"], row["decision_reference"]) == (
            "under_review",
            under_review["version"],
            None,
        )

    async def test_a_decision_before_the_submission_names_both_dates(
        self, api: httpx.AsyncClient, people: People, stack: Stack, under_review: dict[str, Any]
    ) -> None:
        before = await counts(stack)
        response = await move(
            api, people.agent, under_review, "rejected", reason="拒赔", decided_on=days_ago(8).isoformat()
        )
        problem = assert_problem(response, 422, field="decided_on")
        assert (
            f"decided_on {days_ago(8).isoformat()} is before submitted_on {days_ago(6).isoformat()}"
            in (problem["detail"])
        )
        assert await counts(stack) == before
        assert (await stored(stack, under_review["id"]))["status"] == "under_review"

    async def test_a_decision_in_the_future_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack, under_review: dict[str, Any]
    ) -> None:
        before = await counts(stack)
        response = await move(
            api,
            people.agent,
            under_review,
            "approved",
            approved_amount="10.00",
            decided_on=days_ago(-1).isoformat(),
        )
        assert_problem(response, 422, field="decided_on")
        assert await counts(stack) == before

    async def test_a_payment_before_the_decision_names_both_dates(
        self, api: httpx.AsyncClient, people: People, stack: Stack, under_review: dict[str, Any]
    ) -> None:
        approved = await moved(
            api,
            people.agent,
            under_review,
            "approved",
            approved_amount="10.00",
            decided_on=days_ago(1).isoformat(),
        )
        before = await counts(stack)
        response = await move(
            api, people.agent, approved, "paid", paid_amount="10.00", paid_on=days_ago(3).isoformat()
        )
        problem = assert_problem(response, 422, field="paid_on")
        assert (
            f"paid_on {days_ago(3).isoformat()} is before decided_on {days_ago(1).isoformat()}"
            in problem["detail"]
        )
        assert await counts(stack) == before

    async def test_a_reference_on_a_move_that_is_not_a_decision_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await issue_policy(api, people, people.agent)
        claim = await submitted_claim(api, people.agent, policy["id"])
        before = await counts(stack)
        response = await move(api, people.agent, claim, "under_review", insurer_reference="LP-1")
        assert_problem(response, 422, field="insurer_reference")
        assert await counts(stack) == before
        assert (await stored(stack, claim["id"]))["status"] == "submitted"
