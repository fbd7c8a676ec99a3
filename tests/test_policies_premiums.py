"""Premiums as money that arrives: product terms and the schedule they give, the first premium
recorded before issue (procedure 三.7), instalment payments, the collection work list; every bad
input a 4xx problem with nothing stored."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import People, Stack
from tests.lifecycle_support import issued, payment, product_with_terms
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    PRODUCTS,
    WORKLISTS,
    act,
    assert_problem,
    counts,
    create_application,
    create_client,
    create_product,
    if_match,
    product_body,
    today,
    walk_to_approved,
)

APPLIED_DAYS_AGO = 7


async def _approved(
    api: httpx.AsyncClient, people: People, decided_on: date | None = None, **product: Any
) -> dict[str, Any]:
    """Applied for a week ago; submitted and approved on ``decided_on`` (default today)."""
    client = await create_client(api, people.agent)
    made = await create_product(api, people.admin, **product)
    applied_on = today() - timedelta(days=APPLIED_DAYS_AGO)
    application = await create_application(
        api, people.agent, client["id"], made["id"], applied_on=applied_on.isoformat()
    )
    return await walk_to_approved(api, people.agent, application, decided_on=decided_on)


def _first(amount: str = "8000.00", paid_on: date | None = None, **overrides: Any) -> dict[str, Any]:
    return {**payment(amount, paid_on or today(), "YH-0001"), **overrides}


class TestProductTerms:
    async def test_terms_default_to_whole_life_annual_with_60_days_grace(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin)
        assert {k: product[k] for k in ("coverage_term", "coverage_years", "premium_mode", "grace_days")} == {
            "coverage_term": "whole_life",
            "coverage_years": None,
            "premium_mode": "annual",
            "grace_days": 60,
        }
        assert (product["waiting_days"], product["guaranteed_renewable"]) == (0, False)

    @pytest.mark.parametrize(
        ("terms", "field"),
        [
            ({"coverage_term": "years"}, None),
            ({"coverage_term": "to_age"}, None),
            ({"coverage_term": "whole_life", "coverage_years": 20}, None),
            ({"premium_mode": "single", "payment_years": [1, 10]}, None),
            ({"guaranteed_renewable": True}, None),
            ({"coverage_term": "forever"}, "coverage_term"),
            ({"premium_mode": "weekly"}, "premium_mode"),
            ({"grace_days": 10}, "grace_days"),
            ({"grace_days": "60"}, "grace_days"),
            ({"waiting_days": -1}, "waiting_days"),
            ({"coverage_term": "years", "coverage_years": 0}, "coverage_years"),
        ],
    )
    async def test_inconsistent_terms_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, terms: dict[str, Any], field: str | None
    ) -> None:
        before = await counts(stack)
        response = await api.post(PRODUCTS, json=product_body(**terms), headers=people.admin.headers)
        assert_problem(response, 422, field=field)
        assert await counts(stack) == before


class TestSchedule:
    async def test_monthly_instalments_for_one_year_stop_at_the_end_of_cover(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await product_with_terms(api, people.admin)
        start = today() - timedelta(days=3)
        policy = await issued(
            api, people, product, issued_on=start, effective_on=start, annual_premium="1000.00"
        )
        amounts = [p["amount"] for p in policy["premiums"]]
        assert len(amounts) == 12
        assert amounts[:11] == ["83.33"] * 11
        assert amounts[11] == "83.37"  # the cents left over
        assert policy["premiums"][0]["status"] == "paid"

    async def test_single_premium_is_one_instalment_and_a_term_stops_the_schedule(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        single = await create_product(api, people.admin, premium_mode="single", payment_years=[1])
        start = today()
        policy = await issued(
            api, people, single, issued_on=start, effective_on=start, annual_premium="50000.00"
        )
        assert [(p["instalment"], p["amount"], p["status"]) for p in policy["premiums"]] == [
            (1, "50000.00", "paid")
        ]
        term = await create_product(
            api, people.admin, coverage_term="years", coverage_years=5, premium_mode="quarterly"
        )
        policy = await issued(
            api, people, term, issued_on=start, effective_on=start, annual_premium="4000.00", payment_years=10
        )
        assert len(policy["premiums"]) == 20  # 5 years of cover, 4 a year: 10 years of payments cut
        assert {p["amount"] for p in policy["premiums"]} == {"1000.00"}
        assert policy["expires_on"] == start.replace(year=start.year + 5).isoformat()

    async def test_cover_to_an_age_ends_on_that_birthday(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, coverage_term="to_age", coverage_years=70)
        policy = await issued(
            api,
            people,
            product,
            issued_on=today(),
            effective_on=today(),
            annual_premium="3000.00",
            payment_years=20,
        )
        assert policy["expires_on"] == "2055-06-12"  # the client helper's insured was born 1985-06-12


class TestFirstPremium:
    async def test_issue_without_the_first_premium_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        approved = await _approved(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json={
                "policy_number": "PN-0001",
                "insurer_reference": "CB-0001",
                "issued_on": today().isoformat(),
                "effective_on": today().isoformat(),
            },
            headers=if_match(people.agent, approved["version"]),
        )
        problem = assert_problem(response, 409)
        assert "确保款项到账" in problem["detail"]
        assert problem["missing"] == "first_premium"
        assert await counts(stack) == before

    async def test_the_first_premium_becomes_the_first_instalment(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        approved = await _approved(api, people)
        paid_on = today() - timedelta(days=2)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium",
            json=_first(paid_on=paid_on),
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        first = response.json()
        issued_app = await act(
            api,
            people.agent,
            f"{APPLICATIONS}/{approved['id']}/issue",
            approved["version"],
            {
                "policy_number": "PN-0002",
                "insurer_reference": "CB-0002",
                "issued_on": today().isoformat(),
                "effective_on": today().isoformat(),
            },
        )
        policy = (await api.get(f"{BASE}/{issued_app['policy_id']}", headers=people.agent.headers)).json()
        assert (policy["premiums"][0]["status"], policy["premiums"][0]["paid_on"]) == (
            "paid",
            paid_on.isoformat(),
        )
        assert all(p["status"] == "due" for p in policy["premiums"][1:])
        payments = (await api.get(f"{BASE}/{policy['id']}/payments", headers=people.agent.headers)).json()
        assert [(p["id"], p["policy_id"], p["premium_due_ids"]) for p in payments] == [
            (first["id"], policy["id"], [policy["premiums"][0]["id"]])
        ]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (_first("0.00"), "amount"),
            (_first("-8000.00"), "amount"),
            ({**_first(), "amount": 8000}, "amount"),
            (_first("7999.99"), "amount"),
            (_first(paid_on=today() + timedelta(days=1)), "paid_on"),
            (_first(paid_on=today() - timedelta(days=APPLIED_DAYS_AGO + 1)), "paid_on"),
            (_first(method="iou"), "method"),
            (_first(reference=""), "reference"),
            ({k: v for k, v in _first().items() if k != "reference"}, "reference"),
        ],
    )
    async def test_bad_first_premiums_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        approved = await _approved(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium", json=body, headers=people.agent.headers
        )
        assert_problem(response, 422, field=field)
        assert await counts(stack) == before

    async def test_not_on_a_draft_and_not_twice(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        draft = await create_application(api, people.agent, client["id"], product["id"])
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{draft['id']}/first-premium", json=_first(), headers=people.agent.headers
        )
        assert "between submission and issue" in assert_problem(response, 409)["detail"]
        assert await counts(stack) == before
        approved = await walk_to_approved(api, people.agent, draft)
        ok = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium", json=_first(), headers=people.agent.headers
        )
        assert ok.status_code == 201, ok.text
        before = await counts(stack)
        twice = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium", json=_first(), headers=people.agent.headers
        )
        assert "already recorded" in assert_problem(twice, 409)["detail"]
        assert await counts(stack) == before

    async def test_a_policy_is_not_issued_before_its_money_arrived(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        # decided three days ago: issuing yesterday keeps the evidence chain; only the money is late
        approved = await _approved(api, people, decided_on=today() - timedelta(days=3))
        ok = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium",
            json=_first(paid_on=today()),
            headers=people.agent.headers,
        )
        assert ok.status_code == 201, ok.text
        before = await counts(stack)
        yesterday = (today() - timedelta(days=1)).isoformat()
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json={
                "policy_number": "PN-0003",
                "insurer_reference": "CB-0003",
                "issued_on": yesterday,
                "effective_on": yesterday,
            },
            headers=if_match(people.agent, approved["version"]),
        )
        problem = assert_problem(response, 422, field="issued_on")
        assert f"is before the first premium's paid_on {today().isoformat()}" in problem["detail"]
        assert await counts(stack) == before

    async def test_the_first_premium_is_not_paid_before_the_application_was_signed(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        """The evidence chain with the money in it: applied_on ≤ first premium paid_on ≤ issued_on."""
        approved = await _approved(api, people)
        applied_on = today() - timedelta(days=APPLIED_DAYS_AGO)
        before = await counts(stack)
        early = applied_on - timedelta(days=1)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium",
            json=_first(paid_on=early),
            headers=people.agent.headers,
        )
        problem = assert_problem(response, 422, field="paid_on")
        assert problem["detail"] == (
            f"paid_on: paid_on {early.isoformat()} is before applied_on {applied_on.isoformat()}"
        )
        assert await counts(stack) == before
        # the day the client signed counts, and it may precede the submission
        ok = await api.post(
            f"{APPLICATIONS}/{approved['id']}/first-premium",
            json=_first(paid_on=applied_on),
            headers=people.agent.headers,
        )
        assert ok.status_code == 201, ok.text


class TestInstalments:
    async def _with_overdue(
        self, api: httpx.AsyncClient, people: People
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        product = await create_product(api, people.admin)
        start = today() - timedelta(days=380)
        policy = await issued(
            api,
            people,
            product,
            issued_on=start,
            effective_on=start,
            annual_premium="6000.00",
            payment_years=10,
        )
        return policy, policy["premiums"][1]

    @pytest.mark.parametrize(
        ("amount", "days_ahead", "field"),
        [
            ("0.00", 0, "amount"),
            ("-6000.00", 0, "amount"),
            ("5999.00", 0, "amount"),
            ("6000.00", 1, "paid_on"),
        ],
    )
    async def test_bad_payments_are_refused(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        amount: str,
        days_ahead: int,
        field: str,
    ) -> None:
        policy, due = await self._with_overdue(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/premiums/{due['id']}/payment",
            json=payment(amount, today() + timedelta(days=days_ahead)),
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(response, 422, field=field)
        assert await counts(stack) == before

    async def test_an_overdue_premium_is_on_the_collection_list_until_paid(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy, due = await self._with_overdue(api, people)
        grace_ends = date.fromisoformat(due["due_on"]) + timedelta(days=60)
        listed = (await api.get(f"{WORKLISTS}/collection", headers=people.agent.headers)).json()["items"]
        assert [(c["premium_id"], c["grace_ends_on"], c["days_left"], c["amount"]) for c in listed] == [
            (due["id"], grace_ends.isoformat(), (grace_ends - today()).days, "6000.00")
        ]
        other = (await api.get(f"{WORKLISTS}/collection", headers=people.outsider.headers)).json()["items"]
        assert other == []
        paid = await act(
            api,
            people.agent,
            f"{BASE}/{policy['id']}/premiums/{due['id']}/payment",
            policy["version"],
            payment("6000.00", today(), "TX-9"),
        )
        assert paid["premiums"][1]["status"] == "paid"
        assert (await api.get(f"{WORKLISTS}/collection", headers=people.agent.headers)).json()["items"] == []
        payments = (await api.get(f"{BASE}/{policy['id']}/payments", headers=people.agent.headers)).json()
        assert [(p["purpose"], p["reference"], p["method"]) for p in payments][-1] == (
            "instalment",
            "TX-9",
            "bank_transfer",
        )


class TestProductTermChanges:
    async def test_grace_waiting_and_renewability_can_change_for_future_policies(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await product_with_terms(api, people.admin)
        response = await api.patch(
            f"{PRODUCTS}/{product['id']}",
            json={"grace_days": 30, "waiting_days": 60, "guaranteed_renewable": True},
            headers=if_match(people.admin, product["version"]),
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert (changed["grace_days"], changed["waiting_days"], changed["guaranteed_renewable"]) == (
            30,
            60,
            True,
        )
        whole = await create_product(api, people.admin)
        before = await counts(stack)
        for body, field in (
            ({"guaranteed_renewable": True}, "guaranteed_renewable"),
            ({"grace_days": 29}, "grace_days"),
            ({"waiting_days": None}, "waiting_days"),
            ({"coverage_term": "years"}, "coverage_term"),
        ):
            refused = await api.patch(
                f"{PRODUCTS}/{whole['id']}", json=body, headers=if_match(people.admin, whole["version"])
            )
            assert_problem(refused, 422, field=field)
        assert await counts(stack) == before
