"""A claim is accepted only for an incident on a day the policy covered (asked of the policies
service): after the term's end or during a lapse it is refused, nothing stored; inside the
waiting period it is accepted and flagged (the insurer decides)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.claims_support import CLAIMS, claim_body, days_ago
from tests.conftest import People, Stack
from tests.lifecycle_support import issued, product_with_terms
from tests.policies_support import assert_problem, create_product


async def _claims(stack: Stack) -> int:
    return int((await stack.fetch("SELECT count(*) AS n FROM claims.claims"))[0]["n"])


class TestIncidentDate:
    async def test_an_incident_after_the_term_ended_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        """The issue's example: a one-year million-medical policy, claimed on long after its year."""
        product = await product_with_terms(api, people.admin, premium_mode="annual", waiting_days=0)
        start = days_ago(400)
        policy = await issued(api, people, product, issued_on=start, effective_on=start)
        before = await _claims(stack)
        response = await api.post(
            CLAIMS, json=claim_body(policy["id"], claim_type="medical"), headers=people.agent.headers
        )
        problem = assert_problem(response, 422, field="incident_date")
        assert "term ended" in problem["detail"]
        assert await _claims(stack) == before

    async def test_an_incident_during_a_lapse_is_refused_even_before_the_sweep_ran(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        start = days_ago(365 + 90)  # the second year's premium is 90 days unpaid: lapsed 29 days ago
        policy = await issued(
            api,
            people,
            product,
            issued_on=start,
            effective_on=start,
            annual_premium="6000.00",
            payment_years=10,
        )
        before = await _claims(stack)
        response = await api.post(
            CLAIMS,
            json=claim_body(policy["id"], incident_date=days_ago(5).isoformat()),
            headers=people.agent.headers,
        )
        assert "lapsed" in assert_problem(response, 422, field="incident_date")["detail"]
        assert await _claims(stack) == before
        in_grace = await api.post(
            CLAIMS,
            json=claim_body(policy["id"], incident_date=days_ago(40).isoformat()),
            headers=people.agent.headers,
        )
        assert in_grace.status_code == 201, in_grace.text
        assert in_grace.json()["in_waiting_period"] is False

    async def test_an_incident_inside_the_waiting_period_is_accepted_and_flagged(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, waiting_days=90)
        start = days_ago(20)
        policy = await issued(
            api,
            people,
            product,
            issued_on=start,
            effective_on=start,
            annual_premium="6000.00",
            payment_years=10,
        )
        response = await api.post(
            CLAIMS,
            json=claim_body(policy["id"], incident_date=days_ago(5).isoformat()),
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        claim = response.json()
        assert (claim["in_waiting_period"], claim["waiting_period_ends_on"]) == (
            True,
            (start + timedelta(days=90)).isoformat(),
        )
        stored = await stack.fetch(
            "SELECT in_waiting_period FROM claims.claims WHERE id = $1::uuid", claim["id"]
        )
        assert stored[0]["in_waiting_period"] is True
