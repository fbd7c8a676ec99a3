# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""A policy's whole life with the clock moved: issue → grace → lapse → reinstatement → renewal →
expiry; termination after two years lapsed; and every refusal on the way (nothing stored)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.policies.terms import add_months, add_years
from tests.conftest import People, Stack
from tests.lifecycle_support import (
    MovedClock,
    events_of,
    in_force,
    issued,
    payment,
    product_with_terms,
    read,
)
from tests.policies_support import BASE, WORKLISTS, act, assert_problem, counts, create_product, if_match

T0 = date(2024, 4, 10)


@pytest.fixture
def clock(stack: Stack) -> Iterator[MovedClock]:
    moved = MovedClock(stack)
    try:
        yield moved
    finally:
        moved.reset()


def _arrears(policy: dict[str, Any], up_to: date) -> Decimal:
    return sum(
        (
            Decimal(p["amount"])
            for p in policy["premiums"]
            if p["status"] in ("due", "overdue") and date.fromisoformat(p["due_on"]) <= up_to
        ),
        Decimal(0),
    )


class TestTheWholeLife:
    async def test_issue_grace_lapse_reinstatement_renewal_expiry(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        agent, admin = people.agent, people.admin
        clock.set(T0 + timedelta(days=3))
        product = await product_with_terms(api, admin, grace_days=60)
        effective = T0 + timedelta(days=1)
        policy = await issued(
            api, people, product, issued_on=T0, effective_on=effective, in_force_by=T0 + timedelta(days=3)
        )
        pid = policy["id"]
        expires = add_years(effective, 1)
        assert (policy["status"], policy["coverage_term"], policy["premium_mode"]) == (
            "in_force",
            "one_year_renewable",
            "monthly",
        )
        assert (policy["expires_on"], policy["waiting_ends_on"], policy["grace_days"]) == (
            expires.isoformat(),
            (effective + timedelta(days=30)).isoformat(),
            60,
        )
        assert len(policy["premiums"]) == 12
        assert {p["amount"] for p in policy["premiums"]} == {"100.00"}
        assert [p["due_on"] for p in policy["premiums"][:3]] == [
            effective.isoformat(),
            add_months(effective, 1).isoformat(),
            add_months(effective, 2).isoformat(),
        ]
        assert (policy["premiums"][0]["status"], policy["premiums"][0]["paid_on"]) == ("paid", T0.isoformat())
        waiting = await in_force(api, agent, pid, effective + timedelta(days=10))
        assert (waiting["in_force"], waiting["in_waiting_period"]) == (True, True)

        # Grace: the second instalment is 10 days overdue; covered, on the collection list.
        second_due = add_months(effective, 1)
        clock.set(second_due + timedelta(days=10))
        collection = (await api.get(f"{WORKLISTS}/collection", headers=agent.headers)).json()["items"]
        assert [
            (c["policy_id"], c["instalment"], c["grace_ends_on"], c["days_left"]) for c in collection
        ] == [(pid, 2, (second_due + timedelta(days=60)).isoformat(), 50)]
        report = await clock.sweep()
        assert (report.lapsed, report.cooling_off_ended) == (0, 1)
        assert (await in_force(api, agent, pid, second_due + timedelta(days=10)))["in_force"] is True

        # Lapse (中止, 保险法 §36): the day after the 60-day grace period.
        lapse_day = second_due + timedelta(days=61)
        report = await clock.sweep(lapse_day)
        assert report.lapsed == 1
        policy = await read(api, agent, pid)
        assert (policy["status"], policy["lapsed_on"]) == ("lapsed", lapse_day.isoformat())
        assert policy["allowed_next_states"] == ["expired", "in_force", "surrendered", "terminated"]
        assert (await in_force(api, agent, pid, lapse_day - timedelta(days=1)))["in_force"] is True
        lapsed_answer = await in_force(api, agent, pid, lapse_day)
        assert lapsed_answer["in_force"] is False
        assert "lapsed" in lapsed_answer["reason"]
        listed = (await api.get(f"{WORKLISTS}/lapsed", headers=agent.headers)).json()["items"]
        assert [(x["policy_id"], x["reinstatement_until"]) for x in listed] == [
            (pid, (add_years(lapse_day, 2) - timedelta(days=1)).isoformat())
        ]
        assert collection[0]["premium_id"] not in [
            c["premium_id"]
            for c in (await api.get(f"{WORKLISTS}/collection", headers=agent.headers)).json()["items"]
        ]

        # Reinstatement (复效, §37): the arrears in full, a new disclosure, the insurer's opinion.
        requested = lapse_day + timedelta(days=14)
        clock.set(requested)
        arrears = _arrears(policy, requested)
        assert arrears == Decimal("300.00")
        body = {
            "requested_on": requested.isoformat(),
            "health_disclosure": [{"question": "过去两年内是否住院或手术？", "answer": False}],
            "pre_underwriting_opinion": "standard",
            "arrears": payment(str(arrears), requested, "FX-1"),
        }
        reinstated = await act(api, agent, f"{BASE}/{pid}/reinstatement", policy["version"], body)
        assert (reinstated["status"], reinstated["reinstated_on"], reinstated["lapsed_on"]) == (
            "in_force",
            requested.isoformat(),
            None,
        )
        assert reinstated["lapses"] == [
            {"lapsed_on": lapse_day.isoformat(), "ended_on": requested.isoformat()}
        ]
        assert "health" not in str(reinstated)
        assert (await in_force(api, agent, pid, lapse_day + timedelta(days=3)))["in_force"] is False
        assert (await in_force(api, agent, pid, requested))["in_force"] is True
        payments = (await api.get(f"{BASE}/{pid}/payments", headers=agent.headers)).json()
        assert [(p["purpose"], p["amount"]) for p in payments] == [
            ("first_premium", "100.00"),
            ("arrears", "300.00"),
        ]

        # Renewal due 30 days before the term ends; the instalments to date paid.
        notice = expires - timedelta(days=30)
        clock.set(notice)
        policy = await read(api, agent, pid)
        for instalment in policy["premiums"]:
            if (
                instalment["status"] in ("due", "overdue")
                and date.fromisoformat(instalment["due_on"]) <= notice
            ):
                policy = await act(
                    api,
                    agent,
                    f"{BASE}/{pid}/premiums/{instalment['id']}/payment",
                    policy["version"],
                    payment("100.00", notice, f"TX-{instalment['instalment']}"),
                )
        report = await clock.sweep()
        assert (report.renewal_due, report.lapsed) == (1, 0)
        assert (await clock.sweep()).renewal_due == 0  # once per notice step
        due = (await api.get(f"{WORKLISTS}/renewals-due", headers=agent.headers)).json()["items"]
        assert [(d["policy_id"], d["days_left"], d["notice_days"]) for d in due] == [(pid, 30, 30)]

        renewal = await act(
            api,
            agent,
            f"{BASE}/{pid}/renewal",
            policy["version"],
            {"decision": "renew", "policy_number": "RN-0002"},
        )
        assert renewal["id"] != pid
        assert (renewal["renewed_from_id"], renewal["effective_on"], renewal["expires_on"]) == (
            pid,
            expires.isoformat(),
            add_years(expires, 1).isoformat(),
        )
        assert (renewal["waiting_ends_on"], renewal["status"]) == (None, "in_force")
        old = await read(api, agent, pid)
        assert (old["renewal_decision"], old["renewed_to_id"]) == ("renew", renewal["id"])
        assert (await api.get(f"{WORKLISTS}/renewals-due", headers=agent.headers)).json()["items"] == []

        # Expiry: the old term ends; the renewed one covers the very next day, without waiting period.
        report = await clock.sweep(expires)
        assert report.expired == 1
        old = await read(api, agent, pid)
        assert (old["status"], old["ended_on"]) == ("expired", expires.isoformat())
        assert (await in_force(api, agent, pid, expires - timedelta(days=1)))["in_force"] is True
        ended = await in_force(api, agent, pid, expires)
        assert ended["in_force"] is False
        assert "term ended" in ended["reason"]
        continued = await in_force(api, agent, renewal["id"], expires)
        assert (continued["in_force"], continued["in_waiting_period"]) == (True, False)
        assert (await clock.sweep()).total == 0

        published = await events_of(api, admin, pid, last="policy.expired")
        paid = [p for p in old["premiums"] if p["status"] == "paid" and p["paid_on"] == notice.isoformat()]
        assert published.count("policy.premium_paid") == len(paid) > 0
        assert [e for e in published if e != "policy.premium_paid"] == [
            "policy.issued",
            "policy.receipt_signed",
            "policy.return_visit_done",
            "policy.in_force",
            "policy.cooling_off_ended",
            "policy.lapsed",
            "policy.in_force",
            "policy.renewal_due",
            "policy.renewed",
            "policy.expired",
        ]


class TestTermination:
    async def test_two_years_lapsed_ends_the_policy_and_refuses_reinstatement_and_payment(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        agent = people.agent
        clock.set(T0)
        product = await create_product(api, people.admin, grace_days=60)
        policy = await issued(
            api, people, product, issued_on=T0, effective_on=T0, annual_premium="6000.00", payment_years=20
        )
        lapse_day = add_years(T0, 1) + timedelta(days=61)
        assert (await clock.sweep(lapse_day)).lapsed == 1
        deadline = add_years(lapse_day, 2)
        clock.set(deadline)
        policy = await read(api, agent, policy["id"])
        before = await counts(stack)
        late = await api.post(
            f"{BASE}/{policy['id']}/reinstatement",
            json={
                "requested_on": deadline.isoformat(),
                "health_disclosure": [{"question": "是否住院？", "answer": False}],
                "pre_underwriting_opinion": "standard",
                "arrears": payment(str(_arrears(policy, deadline)), deadline),
            },
            headers=if_match(agent, policy["version"]),
        )
        problem = assert_problem(late, 409)
        assert "two years" in problem["detail"]
        assert problem["reinstatement_until"] == deadline.isoformat()
        assert await counts(stack) == before

        report = await clock.sweep()
        assert (report.terminated, report.expired) == (1, 0)
        policy = await read(api, agent, policy["id"])
        assert (policy["status"], policy["ended_on"], policy["allowed_next_states"]) == (
            "terminated",
            deadline.isoformat(),
            [],
        )
        answer = await in_force(api, agent, policy["id"], deadline)
        assert answer["in_force"] is False
        assert "terminated" in answer["reason"]
        unpaid = next(p for p in policy["premiums"] if p["status"] in ("due", "overdue"))
        before = await counts(stack)
        refused = await api.post(
            f"{BASE}/{policy['id']}/premiums/{unpaid['id']}/payment",
            json=payment(unpaid["amount"], deadline),
            headers=if_match(agent, policy["version"]),
        )
        assert "terminated" in assert_problem(refused, 409)["detail"]
        assert await counts(stack) == before
        assert (await clock.sweep()).total == 0


class TestRefusals:
    async def _lapsed(self, api: httpx.AsyncClient, people: People, clock: MovedClock) -> dict[str, Any]:
        clock.set(T0)
        product = await create_product(api, people.admin)
        policy = await issued(
            api, people, product, issued_on=T0, effective_on=T0, annual_premium="6000.00", payment_years=20
        )
        assert (await clock.sweep(add_years(T0, 1) + timedelta(days=61))).lapsed == 1
        return await read(api, people.agent, policy["id"])

    async def test_reinstatement_without_the_arrears(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        policy = await self._lapsed(api, people, clock)
        day = date.fromisoformat(policy["lapsed_on"]) + timedelta(days=5)
        clock.set(day)
        before = await counts(stack)
        body = {
            "requested_on": day.isoformat(),
            "health_disclosure": [{"question": "是否住院？", "answer": False}],
            "pre_underwriting_opinion": "standard",
            "arrears": payment("100.00", day),
        }
        response = await api.post(
            f"{BASE}/{policy['id']}/reinstatement",
            json=body,
            headers=if_match(people.agent, policy["version"]),
        )
        assert "6000.00" in assert_problem(response, 422, field="arrears.amount")["detail"]
        for missing in ("health_disclosure", "pre_underwriting_opinion", "arrears"):
            partial = {k: v for k, v in body.items() if k != missing}
            response = await api.post(
                f"{BASE}/{policy['id']}/reinstatement",
                json=partial,
                headers=if_match(people.agent, policy["version"]),
            )
            assert_problem(response, 422, field=missing)
        declined = {**body, "pre_underwriting_opinion": "decline", "arrears": payment("6000.00", day)}
        response = await api.post(
            f"{BASE}/{policy['id']}/reinstatement",
            json=declined,
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(response, 422, field="pre_underwriting_opinion")
        assert await counts(stack) == before
        assert (await read(api, people.agent, policy["id"]))["status"] == "lapsed"

    async def test_paying_an_instalment_of_a_lapsed_policy_points_to_reinstatement(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        policy = await self._lapsed(api, people, clock)
        unpaid = next(p for p in policy["premiums"] if p["status"] == "overdue")
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/premiums/{unpaid['id']}/payment",
            json=payment(unpaid["amount"], date.fromisoformat(policy["lapsed_on"])),
            headers=if_match(people.agent, policy["version"]),
        )
        problem = assert_problem(response, 409)
        assert problem["alternative"] == "reinstatement"
        assert await counts(stack) == before

    async def test_renewing_a_product_that_is_not_renewable(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await create_product(api, people.admin, coverage_term="years", coverage_years=1)
        policy = await issued(api, people, product, issued_on=T0, effective_on=T0)
        assert policy["expires_on"] == add_years(T0, 1).isoformat()
        clock.set(add_years(T0, 1) - timedelta(days=10))
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/renewal",
            json={"decision": "renew", "policy_number": "RN-0001"},
            headers=if_match(people.agent, policy["version"]),
        )
        assert "not a one-year renewable product" in assert_problem(response, 409)["detail"]
        assert await counts(stack) == before

    async def test_renewal_outside_its_window_or_without_a_number(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await product_with_terms(api, people.admin, premium_mode="annual")
        policy = await issued(api, people, product, issued_on=T0, effective_on=T0)
        before = await counts(stack)
        early = await api.post(
            f"{BASE}/{policy['id']}/renewal",
            json={"decision": "renew", "policy_number": "RN-0001"},
            headers=if_match(people.agent, policy["version"]),
        )
        assert "60 days" in assert_problem(early, 409)["detail"]
        clock.set(add_years(T0, 1) - timedelta(days=7))
        unnumbered = await api.post(
            f"{BASE}/{policy['id']}/renewal",
            json={"decision": "renew"},
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(unnumbered, 422, field="policy_number")
        changed_as_is = await api.post(
            f"{BASE}/{policy['id']}/renewal",
            json={"decision": "renew", "policy_number": "RN-0001", "sum_insured": "1.00"},
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(changed_as_is, 422, field="sum_insured")
        assert await counts(stack) == before

    async def test_a_declined_renewal_expires_and_a_changed_one_carries_the_new_terms(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        clock.set(T0)
        product = await product_with_terms(api, people.admin, premium_mode="annual")
        kept = await issued(api, people, product, issued_on=T0, effective_on=T0)
        dropped = await issued(api, people, product, issued_on=T0, effective_on=T0)
        clock.set(add_years(T0, 1) - timedelta(days=7))
        changed = await act(
            api,
            people.agent,
            f"{BASE}/{kept['id']}/renewal",
            kept["version"],
            {
                "decision": "change",
                "policy_number": "RN-0003",
                "sum_insured": "3000000.00",
                "annual_premium": "900.00",
            },
        )
        assert (changed["sum_insured"], changed["annual_premium"]) == ("3000000.00", "900.00")
        declined = await act(
            api, people.agent, f"{BASE}/{dropped['id']}/renewal", dropped["version"], {"decision": "decline"}
        )
        assert (declined["id"], declined["renewal_decision"], declined["renewed_to_id"]) == (
            dropped["id"],
            "decline",
            None,
        )
        report = await clock.sweep(add_years(T0, 1))
        assert report.expired == 2
        assert (await read(api, people.agent, dropped["id"]))["status"] == "expired"
