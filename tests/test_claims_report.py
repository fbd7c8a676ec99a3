"""Reporting a claim: the policy is checked with the policies service, the checklist follows the
claim type, the bank account is encrypted and masked, and bad input stores nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.claims_support import (
    BANK_ACCOUNT,
    CLAIMS,
    CRITICAL_ILLNESS_DOCUMENTS,
    assert_problem,
    audit_rows,
    claim_body,
    counts,
    days_ago,
    issue_policy,
    report_claim,
    stored,
    today,
)
from tests.conftest import People, Stack


@pytest.fixture
async def policy(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    """The agent's client's policy, in force since 100 days ago."""
    return await issue_policy(api, people, people.agent)


class TestAgentReportsClaim:
    async def test_claim_starts_reported_with_the_critical_illness_checklist(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        response = await api.post(CLAIMS, json=claim_body(policy["id"]), headers=people.agent.headers)

        assert response.status_code == 201, response.text
        claim = response.json()
        assert response.headers["etag"] == 'W/"1"'
        assert response.headers["location"] == f"{CLAIMS}/{claim['id']}"
        assert claim["status"] == "reported"
        assert claim["allowed_next_statuses"] == ["collecting_documents", "withdrawn"]
        assert claim["claimed_amount"] == "500000.00"
        assert claim["reported_on"] == today().isoformat()
        assert [d["code"] for d in claim["documents"]] == CRITICAL_ILLNESS_DOCUMENTS
        assert {d["status"] for d in claim["documents"]} == {"missing"}
        assert claim["documents_missing_since"] == today().isoformat()

    async def test_scope_and_policy_facts_come_from_the_policy(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        assert claim["policy_id"] == policy["id"]
        assert claim["client_id"] == policy["client_id"]
        assert claim["policy_number"] == policy["policy_number"]
        assert claim["owner_agent_id"] == str(people.agent.user_id)
        assert claim["team_id"] == str(people.north_team_id)

    async def test_a_team_lead_reports_for_the_agent_who_owns_the_policy(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.lead, policy["id"])

        assert claim["owner_agent_id"] == str(people.agent.user_id)
        response = await api.get(f"{CLAIMS}/{claim['id']}", headers=people.agent.headers)
        assert response.status_code == 200, response.text
        row = await stored(stack, claim["id"])
        assert (row["owner_agent_id"], row["team_id"], row["status"]) == (
            people.agent.user_id,
            people.north_team_id,
            "reported",
        )
        (entry,) = await audit_rows(stack, claim["id"])
        assert entry["actor"] == f"user:{people.lead.user_id}"

    async def test_medical_claims_ask_for_invoices_and_expense_lists(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"], claim_type="medical")

        codes = [d["code"] for d in claim["documents"]]
        assert {"invoices", "expense_lists", "discharge_summary"} <= set(codes)
        assert "pathology_report" not in codes

    async def test_reporting_is_on_the_timeline_and_in_the_audit_trail(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        timeline = (await api.get(f"{CLAIMS}/{claim['id']}/timeline", headers=people.agent.headers)).json()
        assert [(e["kind"], e["from_status"], e["to_status"]) for e in timeline["items"]] == [
            ("status_changed", None, "reported")
        ]
        (entry,) = await audit_rows(stack, claim["id"])
        assert entry["action"] == "claim.reported"
        assert entry["actor"] == f"user:{people.agent.user_id}"
        assert entry["after"]["claimant"]["bank_account"] == "6222***********0123"

    async def test_an_idempotent_retry_reports_one_claim(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        headers = {**people.agent.headers, "Idempotency-Key": "claim-report-1"}
        first = await api.post(CLAIMS, json=claim_body(policy["id"]), headers=headers)
        again = await api.post(CLAIMS, json=claim_body(policy["id"]), headers=headers)

        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert (await counts(stack))["claims"] == 1


class TestBankAccountIsPersonalData:
    async def test_masked_in_the_response_and_encrypted_at_rest(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        assert claim["claimant"]["bank_account"] == "6222***********0123"
        rows = await stack.fetch("SELECT * FROM claims.claims WHERE id = $1", uuid.UUID(claim["id"]))
        assert BANK_ACCOUNT.encode() not in bytes(rows[0]["bank_account_cipher"])
        assert BANK_ACCOUNT not in str(dict(rows[0]))
        assert BANK_ACCOUNT not in str(await audit_rows(stack, claim["id"]))

    async def test_spaces_are_ignored_and_letters_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        spaced = await report_claim(
            api,
            people.agent,
            policy["id"],
            claimant={"name": "张伟", "bank_account": "6222 0212 3456 7890 123"},
        )
        assert spaced["claimant"]["bank_account"] == "6222***********0123"

        before = await counts(stack)
        response = await api.post(
            CLAIMS,
            json=claim_body(policy["id"], claimant={"name": "张伟", "bank_account": "6222-ABCD-1234"}),
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="claimant.bank_account")
        assert await counts(stack) == before


class TestPolicyMustBeInForce:
    async def test_incident_before_the_policy_took_effect_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        before = await counts(stack)

        response = await api.post(
            CLAIMS,
            json=claim_body(policy["id"], incident_date=days_ago(150).isoformat()),
            headers=people.agent.headers,
        )

        problem = assert_problem(response, 422, field="incident_date")
        assert "not in force" in problem["detail"]
        assert days_ago(150).isoformat() in problem["detail"]
        assert await counts(stack) == before

    async def test_another_agents_policy_is_not_found(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        before = await counts(stack)

        response = await api.post(CLAIMS, json=claim_body(policy["id"]), headers=people.outsider.headers)

        problem = assert_problem(response, 422, field="policy_id")
        assert "no such policy" in problem["detail"]
        assert await counts(stack) == before

    async def test_an_unknown_policy_is_not_found(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)

        response = await api.post(CLAIMS, json=claim_body(str(uuid.uuid4())), headers=people.agent.headers)

        assert_problem(response, 422, field="policy_id")
        assert await counts(stack) == before

    async def test_policies_service_down_is_503_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        stack.mesh.down.add("policies.internal")
        before = await counts(stack)

        response = await api.post(CLAIMS, json=claim_body(str(uuid.uuid4())), headers=people.agent.headers)

        problem = assert_problem(response, 503)
        assert "policies" in problem["detail"]
        assert await counts(stack) == before


class TestBadClaimInput:
    async def test_incident_date_in_the_future(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)
        tomorrow = days_ago(-1)

        response = await api.post(
            CLAIMS,
            json=claim_body(str(uuid.uuid4()), incident_date=tomorrow.isoformat()),
            headers=people.agent.headers,
        )

        problem = assert_problem(response, 422, field="incident_date")
        assert "future" in problem["detail"]
        assert await counts(stack) == before

    async def test_reported_before_the_incident(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)

        response = await api.post(
            CLAIMS,
            json=claim_body(
                str(uuid.uuid4()), incident_date=days_ago(3).isoformat(), reported_on=days_ago(5).isoformat()
            ),
            headers=people.agent.headers,
        )

        assert_problem(response, 422, field="reported_on")
        assert await counts(stack) == before

    @pytest.mark.parametrize(
        ("amount", "message"),
        [
            ("-100.00", "greater than 0"),
            ("0", "greater than 0"),
            ("abc", "decimal"),
            ("12.345", "decimal places"),
            (1234.5, "decimal string"),
            (1000, "decimal string"),
            ("NaN", "finite"),
            (None, "decimal string"),
        ],
    )
    async def test_amount_must_be_a_positive_decimal_string(
        self, api: httpx.AsyncClient, people: People, stack: Stack, amount: object, message: str
    ) -> None:
        before = await counts(stack)

        response = await api.post(
            CLAIMS, json=claim_body(str(uuid.uuid4()), claimed_amount=amount), headers=people.agent.headers
        )

        problem = assert_problem(response, 422, field="claimed_amount")
        assert message in problem["detail"].lower() or message in str(problem["errors"]).lower()
        assert await counts(stack) == before

    @pytest.mark.parametrize(
        "field",
        [{"status": "paid"}, {"owner_agent_id": str(uuid.uuid4())}, {"version": 3}, {"claim_type": "theft"}],
    )
    async def test_server_owned_or_unknown_fields_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, field: dict[str, Any]
    ) -> None:
        before = await counts(stack)

        response = await api.post(
            CLAIMS, json=claim_body(str(uuid.uuid4()), **field), headers=people.agent.headers
        )

        assert_problem(response, 422, field=next(iter(field)))
        assert await counts(stack) == before
