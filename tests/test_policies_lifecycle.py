"""One application walked from draft to in force, every date checked; then cancellation and surrender."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from tests.conftest import People, Person, Stack
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    act,
    assert_problem,
    counts,
    create_application,
    create_client,
    create_product,
    if_match,
    issue_policy,
    pay_first_premium,
    today,
    walk_to_approved,
)

PAYMENT = {"amount": "8000.00", "method": "bank_transfer", "reference": "TX-0002"}


async def _issued(
    api: httpx.AsyncClient,
    people: People,
    *,
    issued_on: date,
    effective_on: date,
    **product: Any,
) -> dict[str, Any]:
    """An issued (not yet receipted) policy for a new client of the agent, applied for, decided and
    issued on ``issued_on`` (nothing the insurer does comes before the application)."""
    client = await create_client(api, people.agent)
    made = await create_product(api, people.admin, **product)
    application = await create_application(
        api, people.agent, client["id"], made["id"], applied_on=issued_on.isoformat()
    )
    approved = await walk_to_approved(api, people.agent, application, decided_on=issued_on)
    await pay_first_premium(api, people.agent, approved, paid_on=issued_on)
    issued = await act(
        api,
        people.agent,
        f"{APPLICATIONS}/{approved['id']}/issue",
        approved["version"],
        {
            "policy_number": "PA0001",
            "insurer_reference": "CB-0001",
            "issued_on": issued_on.isoformat(),
            "effective_on": effective_on.isoformat(),
        },
    )
    response = await api.get(f"{BASE}/{issued['policy_id']}", headers=people.agent.headers)
    policy: dict[str, Any] = response.json()
    return policy


async def _receipted(
    api: httpx.AsyncClient, person: Person, policy: dict[str, Any], signed_on: date
) -> dict[str, Any]:
    return await act(
        api, person, f"{BASE}/{policy['id']}/receipt", policy["version"], {"signed_on": signed_on.isoformat()}
    )


class TestDraftToInForce:
    async def test_every_state_and_date_along_the_way(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        agent = people.agent
        day = today()
        client = await create_client(api, agent)
        product = await create_product(api, people.admin, cooling_off_days=15)
        application = await create_application(
            api, agent, client["id"], product["id"], applied_on=(day - timedelta(days=30)).isoformat()
        )
        assert application["status"] == "draft"
        assert application["applied_on"] == (day - timedelta(days=30)).isoformat()
        assert application["allowed_next_states"] == ["submitted", "withdrawn"]
        assert application["submitted_on"] is None
        path = f"{APPLICATIONS}/{application['id']}"

        submitted_on = day - timedelta(days=25)
        submitted = await act(
            api, agent, f"{path}/submit", application["version"], {"submitted_on": submitted_on.isoformat()}
        )
        assert submitted["status"] == "submitted"
        assert submitted["submitted_on"] == submitted_on.isoformat()
        underwriting = await act(api, agent, f"{path}/underwriting", submitted["version"])
        assert underwriting["status"] == "underwriting"

        due = day + timedelta(days=10)
        pending = await act(
            api,
            agent,
            f"{path}/requirements",
            underwriting["version"],
            {"kind": "medical_examination_report", "due_on": due.isoformat(), "description": "空腹血检"},
        )
        assert pending["status"] == "requirements_pending"
        [requirement] = pending["requirements"]
        assert requirement["due_on"] == due.isoformat()
        assert requirement["status"] == "pending"

        blocked = await api.post(f"{path}/underwriting", headers=if_match(agent, pending["version"]))
        assert_problem(blocked, 409)
        assert "medical_examination_report" in blocked.json()["detail"]

        received = await act(
            api,
            agent,
            f"{path}/requirements/{requirement['id']}/resolve",
            pending["version"],
            {"status": "received", "resolved_on": day.isoformat()},
        )
        assert received["requirements"][0]["status"] == "received"
        assert received["requirements"][0]["resolved_on"] == day.isoformat()
        back = await act(api, agent, f"{path}/underwriting", received["version"])
        decided_on = day - timedelta(days=21)
        approved = await act(
            api,
            agent,
            f"{path}/approve",
            back["version"],
            {"insurer_reference": "UW-2026-0001", "decided_on": decided_on.isoformat()},
        )
        assert approved["status"] == "approved"
        assert approved["decided_on"] == decided_on.isoformat()
        assert approved["decision_reference"] == "UW-2026-0001"

        issued_on = day - timedelta(days=20)
        effective_on = day - timedelta(days=19)
        first = await pay_first_premium(api, agent, approved, paid_on=issued_on - timedelta(days=1))
        assert (first["purpose"], first["amount"], first["policy_id"]) == ("first_premium", "8000.00", None)
        issued = await act(
            api,
            agent,
            f"{path}/issue",
            approved["version"],
            {
                "policy_number": "PA2026-0001",
                "insurer_reference": "CB-2026-0001",
                "issued_on": issued_on.isoformat(),
                "effective_on": effective_on.isoformat(),
            },
        )
        assert issued["status"] == "issued"
        assert issued["allowed_next_states"] == []
        policy_path = f"{BASE}/{issued['policy_id']}"
        policy = (await api.get(policy_path, headers=agent.headers)).json()
        assert policy["status"] == "issued"
        assert policy["policy_number"] == "PA2026-0001"
        assert policy["issued_on"] == issued_on.isoformat()
        assert policy["effective_on"] == effective_on.isoformat()
        assert policy["receipt_signed_on"] is None
        assert policy["cooling_off_ends_on"] is None
        assert policy["client_id"] == client["id"]
        assert policy["walls"] == [{"wall": "critical_illness", "sum_insured": "500000.00"}]
        premiums = policy["premiums"]
        assert len(premiums) == 20
        assert premiums[0] == {
            "id": premiums[0]["id"],
            "instalment": 1,
            "due_on": effective_on.isoformat(),
            "amount": "8000.00",
            "status": "paid",
            "paid_on": (issued_on - timedelta(days=1)).isoformat(),
        }
        assert premiums[1]["due_on"] == effective_on.replace(year=effective_on.year + 1).isoformat()
        assert premiums[1]["status"] == "due"
        assert policy["next_premium_due_on"] == premiums[1]["due_on"]

        signed_on = day - timedelta(days=10)
        receipted = await _receipted(api, agent, policy, signed_on)
        assert receipted["status"] == "receipt_signed"
        assert receipted["receipt_signed_on"] == signed_on.isoformat()
        assert receipted["cooling_off_ends_on"] == (signed_on + timedelta(days=15)).isoformat()

        visited = await act(
            api,
            agent,
            f"{policy_path}/return-visit",
            receipted["version"],
            {
                "visited_on": (signed_on + timedelta(days=2)).isoformat(),
                "understood_cover": True,
                "signed_personally": True,
            },
        )
        assert visited["status"] == "return_visit_done"
        assert visited["return_visit"]["visited_on"] == (signed_on + timedelta(days=2)).isoformat()

        in_force = await act(api, agent, f"{policy_path}/mark-in-force", visited["version"])
        assert in_force["status"] == "in_force"
        assert in_force["in_force_on"] == effective_on.isoformat()  # the contract's date, not the click's
        # lapse and expiry come by the calendar (the sweep), listed as the table has them
        assert in_force["allowed_next_states"] == ["cancelled", "expired", "lapsed", "surrendered"]

        audit = await stack.fetch(
            "SELECT action FROM policies.audit_log WHERE resource_id = $1 ORDER BY id",
            uuid.UUID(application["id"]),
        )
        assert [r["action"] for r in audit] == [
            "application.created",
            "application.submitted",
            "application.underwriting",
            "application.requirement_added",
            "application.requirement_received",
            "application.underwriting",
            "application.approved",
            "application.first_premium_paid",
            "application.issued",
        ]

    async def test_issue_policy_helper_reaches_in_force(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent, birth_date=None)
        policy = await issue_policy(
            api,
            people.agent,
            client["id"],
            admin=people.admin,
            effective_on=date(2024, 3, 1),
            sum_insured="300000.00",
        )
        assert policy["status"] == "in_force"
        assert policy["effective_on"] == "2024-03-01"
        assert policy["sum_insured"] == "300000.00"
        assert policy["owner_agent_id"] == str(people.agent.user_id)


class TestReceiptSigned:
    async def test_cooling_off_ends_15_days_later(self, api: httpx.AsyncClient, people: People) -> None:
        policy = await _issued(api, people, issued_on=today() - timedelta(days=3), effective_on=today())
        signed = await _receipted(api, people.agent, policy, today() - timedelta(days=1))
        assert signed["cooling_off_ends_on"] == (today() + timedelta(days=14)).isoformat()

    async def test_product_sets_its_own_cooling_off_days(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(
            api,
            people,
            issued_on=today() - timedelta(days=3),
            effective_on=today(),
            cooling_off_days=20,
        )
        signed = await _receipted(api, people.agent, policy, today())
        assert signed["cooling_off_ends_on"] == (today() + timedelta(days=20)).isoformat()

    async def test_receipt_date_before_issue_date_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _issued(api, people, issued_on=today() - timedelta(days=3), effective_on=today())
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/receipt",
            json={"signed_on": (today() - timedelta(days=4)).isoformat()},
            headers=if_match(people.agent, policy["version"]),
        )
        problem = assert_problem(response, 422, field="signed_on")
        assert "is before issued_on" in problem["detail"]
        assert await counts(stack) == before
        stored = await stack.fetch(
            "SELECT status, version FROM policies.policies WHERE id = $1", uuid.UUID(policy["id"])
        )
        assert (stored[0]["status"], stored[0]["version"]) == ("issued", policy["version"])

    async def test_receipt_date_in_the_future_is_refused(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today())
        response = await api.post(
            f"{BASE}/{policy['id']}/receipt",
            json={"signed_on": (today() + timedelta(days=1)).isoformat()},
            headers=if_match(people.agent, policy["version"]),
        )
        assert_problem(response, 422, field="signed_on")
        stored = (await api.get(f"{BASE}/{policy['id']}", headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"]) == ("issued", policy["version"])
        assert (stored["receipt_signed_on"], stored["cooling_off_ends_on"]) == (None, None)

    async def test_return_visit_not_confirmed_is_recorded_as_failed(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today())
        signed = await _receipted(api, people.agent, policy, today())
        response = await api.post(
            f"{BASE}/{policy['id']}/return-visit",
            json={"visited_on": today().isoformat(), "understood_cover": True, "signed_personally": False},
            headers=if_match(people.agent, signed["version"]),
        )
        assert response.status_code == 200, response.text
        stored = (await api.get(f"{BASE}/{policy['id']}", headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"]) == ("receipt_signed", signed["version"] + 1)
        assert stored["return_visit"]["passed"] is False
        assert stored["return_visit"]["failure_reasons"] == ["not_signed_personally"]


class TestCancellation:
    async def test_within_cooling_off_refunds_premiums_and_voids_the_policy(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(
            api,
            people,
            issued_on=today() - timedelta(days=5),
            effective_on=today() - timedelta(days=4),
        )
        signed = await _receipted(api, people.agent, policy, today() - timedelta(days=3))
        cancelled = await act(
            api,
            people.agent,
            f"{BASE}/{policy['id']}/cancellation",
            signed["version"],
            {"requested_on": today().isoformat()},
        )
        assert cancelled["status"] == "cancelled"
        assert cancelled["refund_amount"] == "8000.00"
        assert cancelled["ended_on"] == today().isoformat()
        assert {p["status"] for p in cancelled["premiums"][1:]} == {"void"}
        check = await api.get(
            f"{BASE}/{policy['id']}/in-force",
            params={"on": today().isoformat()},
            headers=people.agent.headers,
        )
        assert check.json()["in_force"] is False
        assert "void from the start" in check.json()["reason"]

    async def test_after_cooling_off_is_refused_with_surrender_as_the_way(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _issued(
            api,
            people,
            issued_on=today() - timedelta(days=40),
            effective_on=today() - timedelta(days=40),
        )
        signed = await _receipted(api, people.agent, policy, today() - timedelta(days=30))
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/cancellation",
            json={"requested_on": today().isoformat()},
            headers=if_match(people.agent, signed["version"]),
        )
        problem = assert_problem(response, 409)
        assert "cooling-off period ended on" in problem["detail"]
        assert problem["alternative"] == "surrender"
        assert await counts(stack) == before
        stored = await stack.fetch(
            "SELECT status, version FROM policies.policies WHERE id = $1", uuid.UUID(policy["id"])
        )
        assert (stored[0]["status"], stored[0]["version"]) == ("receipt_signed", signed["version"])

    async def test_surrender_after_cooling_off_ends_cover(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(
            api,
            people,
            issued_on=today() - timedelta(days=40),
            effective_on=today() - timedelta(days=40),
        )
        signed = await _receipted(api, people.agent, policy, today() - timedelta(days=30))
        surrendered = await act(
            api,
            people.agent,
            f"{BASE}/{policy['id']}/surrender",
            signed["version"],
            {"requested_on": today().isoformat(), "surrender_value": "1200.50"},
        )
        assert surrendered["status"] == "surrendered"
        assert surrendered["surrender_value"] == "1200.50"
        on_day = await api.get(
            f"{BASE}/{policy['id']}/in-force",
            params={"on": today().isoformat()},
            headers=people.agent.headers,
        )
        assert on_day.json()["in_force"] is True
        after = (today() + timedelta(days=1)).isoformat()
        later = await api.get(
            f"{BASE}/{policy['id']}/in-force", params={"on": after}, headers=people.agent.headers
        )
        assert later.json() == {
            "policy_id": policy["id"],
            "on": after,
            "in_force": False,
            "reason": f"ended on {today().isoformat()} (surrendered)",
            "in_waiting_period": False,
            "waiting_ends_on": None,
        }

    async def test_surrender_inside_cooling_off_points_to_cancellation(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today())
        signed = await _receipted(api, people.agent, policy, today())
        response = await api.post(
            f"{BASE}/{policy['id']}/surrender",
            json={"requested_on": today().isoformat(), "surrender_value": "0.00"},
            headers=if_match(people.agent, signed["version"]),
        )
        problem = assert_problem(response, 409)
        assert problem["alternative"] == "cancellation"
        assert "requested_state" not in problem  # the table allows it; the date does not
        stored = (await api.get(f"{BASE}/{policy['id']}", headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"]) == ("receipt_signed", signed["version"])
        assert (stored["ended_on"], stored["surrender_value"]) == (None, None)
        assert [p["status"] for p in stored["premiums"]] == [p["status"] for p in signed["premiums"]]

    async def test_a_json_number_for_the_surrender_value_is_422_with_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _issued(
            api,
            people,
            issued_on=today() - timedelta(days=40),
            effective_on=today() - timedelta(days=40),
        )
        signed = await _receipted(api, people.agent, policy, today() - timedelta(days=30))
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/surrender",
            json={"requested_on": today().isoformat(), "surrender_value": 1200.5},
            headers=if_match(people.agent, signed["version"]),
        )
        problem = assert_problem(response, 422, field="surrender_value")
        assert "decimal string" in problem["detail"]
        assert await counts(stack) == before
        [row] = await stack.fetch(
            "SELECT status, version, surrender_value FROM policies.policies WHERE id = $1",
            uuid.UUID(policy["id"]),
        )
        assert (row["status"], row["version"], row["surrender_value"]) == (
            "receipt_signed",
            signed["version"],
            None,
        )


class TestIllegalPolicyTransitions:
    async def test_cancelling_before_the_receipt_lists_allowed_states(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today())
        before = await counts(stack)
        response = await api.post(
            f"{BASE}/{policy['id']}/cancellation",
            json={"requested_on": today().isoformat()},
            headers=if_match(people.agent, policy["version"]),
        )
        problem = assert_problem(response, 409)
        assert problem["current_state"] == "issued"
        assert problem["requested_state"] == "cancelled"
        assert problem["allowed_next_states"] == ["expired", "lapsed", "receipt_signed"]
        assert await counts(stack) == before

    async def test_in_force_straight_after_issue_is_refused(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today())
        response = await api.post(
            f"{BASE}/{policy['id']}/mark-in-force", headers=if_match(people.agent, policy["version"])
        )
        problem = assert_problem(response, 409)
        assert (problem["current_state"], problem["requested_state"]) == ("issued", "in_force")
        assert problem["allowed_next_states"] == ["expired", "lapsed", "receipt_signed"]
        stored = (await api.get(f"{BASE}/{policy['id']}", headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"], stored["in_force_on"]) == (
            "issued",
            policy["version"],
            None,
        )


class TestInForceCheck:
    async def test_not_yet_effective(self, api: httpx.AsyncClient, people: People) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today() + timedelta(days=1))
        response = await api.get(
            f"{BASE}/{policy['id']}/in-force",
            params={"on": today().isoformat()},
            headers=people.agent.headers,
        )
        assert response.json()["in_force"] is False
        assert "not yet effective" in response.json()["reason"]

    async def test_bad_date_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today())
        response = await api.get(
            f"{BASE}/{policy['id']}/in-force", params={"on": "2026-02-30"}, headers=people.agent.headers
        )
        assert_problem(response, 422, field="query.on")


class TestPremiums:
    async def test_paying_an_instalment(self, api: httpx.AsyncClient, people: People) -> None:
        policy = await _issued(api, people, issued_on=today(), effective_on=today() - timedelta(days=366))
        second = policy["premiums"][1]
        assert second["status"] == "overdue"
        paid = await act(
            api,
            people.agent,
            f"{BASE}/{policy['id']}/premiums/{second['id']}/payment",
            policy["version"],
            {"paid_on": today().isoformat(), **PAYMENT},
        )
        assert paid["premiums"][1]["status"] == "paid"
        again = await api.post(
            f"{BASE}/{policy['id']}/premiums/{second['id']}/payment",
            json={"paid_on": (today() - timedelta(days=1)).isoformat(), **PAYMENT},
            headers=if_match(people.agent, paid["version"]),
        )
        assert "only a due instalment can be paid" in assert_problem(again, 409)["detail"]
        stored = (await api.get(f"{BASE}/{policy['id']}", headers=people.agent.headers)).json()
        assert stored["version"] == paid["version"]
        assert (stored["premiums"][1]["status"], stored["premiums"][1]["paid_on"]) == (
            "paid",
            today().isoformat(),
        )

    async def test_policy_number_is_unique_per_insurer(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        first = await _issued(api, people, issued_on=today(), effective_on=today(), insurer="中国人寿")
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin, insurer="中国人寿")
        application = await create_application(api, people.agent, client["id"], product["id"])
        approved = await walk_to_approved(api, people.agent, application)
        await pay_first_premium(api, people.agent, approved)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json={
                "policy_number": first["policy_number"],
                "insurer_reference": "CB-0002",
                "issued_on": today().isoformat(),
                "effective_on": today().isoformat(),
            },
            headers=if_match(people.agent, approved["version"]),
        )
        assert first["policy_number"] in assert_problem(response, 409)["detail"]
        assert await counts(stack) == before
        stored = (await api.get(f"{APPLICATIONS}/{approved['id']}", headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"], stored["policy_id"]) == (
            "approved",
            approved["version"],
            None,
        )
