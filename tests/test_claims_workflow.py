# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Status nodes as a transition table: one claim walked from reported to paid, submission only with
complete documents, illegal moves answered 409 with the allowed ones, and bad moves storing nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.claims_support import (
    CLAIMS,
    CRITICAL_ILLNESS_DOCUMENTS,
    assert_illegal_transition,
    assert_problem,
    audit_rows,
    counts,
    days_ago,
    if_match,
    issue_policy,
    move,
    moved,
    receive_all,
    report_claim,
    stored,
    submitted_claim,
    today,
)
from tests.conftest import People, Stack


@pytest.fixture
async def policy(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    return await issue_policy(api, people, people.agent)


async def document_change(
    api: httpx.AsyncClient, people: People, claim: dict[str, Any], code: str, **body: Any
) -> httpx.Response:
    document = next(d for d in claim["documents"] if d["code"] == code)
    return await api.patch(
        f"{CLAIMS}/{claim['id']}/documents/{document['id']}",
        json=body,
        headers=if_match(people.agent, claim["version"]),
    )


class TestClaimWalkedFromReportedToPaid:
    async def test_every_status_node_in_order(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        agent = people.agent
        claim = await report_claim(api, agent, policy["id"])
        claim = await moved(api, agent, claim, "collecting_documents", note="已告知客户所需资料")
        claim = await receive_all(api, agent, claim)
        assert {d["status"] for d in claim["documents"]} == {"received"}
        assert claim["documents_missing_since"] is None

        claim = await moved(api, agent, claim, "submitted")
        assert claim["submitted_on"] == today().isoformat()
        assert claim["decision_due_on"] == (today() + timedelta(days=30)).isoformat()
        assert {d["status"] for d in claim["documents"]} == {"submitted"}

        claim = await moved(api, agent, claim, "under_review")
        claim = await moved(
            api, agent, claim, "more_information_requested", documents=[{"name": "既往病史说明"}]
        )
        extra = claim["documents"][-1]
        assert (extra["name"], extra["status"], extra["required"]) == ("既往病史说明", "missing", True)

        blocked = await move(api, agent, claim, "under_review")
        problem = assert_problem(blocked, 409)
        assert [d["name"] for d in problem["missing_documents"]] == ["既往病史说明"]

        claim = await receive_all(api, agent, claim)
        claim = await moved(api, agent, claim, "under_review")
        claim = await moved(api, agent, claim, "approved", approved_amount="450000.00")
        assert claim["approved_amount"] == "450000.00"
        assert claim["claimed_amount"] == "500000.00"
        assert claim["decided_on"] == today().isoformat()

        claim = await moved(api, agent, claim, "paid", paid_amount="450000.00", paid_on=today().isoformat())
        assert claim["status"] == "paid"
        assert claim["paid_amount"] == "450000.00"
        assert claim["paid_on"] == today().isoformat()
        assert claim["closed_at"] is not None
        assert claim["allowed_next_statuses"] == []
        assert claim["client_update_due_on"] is None

        timeline = (await api.get(f"{CLAIMS}/{claim['id']}/timeline", headers=agent.headers)).json()
        assert [e["to_status"] for e in timeline["items"]] == [
            "reported",
            "collecting_documents",
            "submitted",
            "under_review",
            "more_information_requested",
            "under_review",
            "approved",
            "paid",
        ]
        assert timeline["items"][1]["summary"] == "已告知客户所需资料"
        actions = [row["action"] for row in await audit_rows(stack, claim["id"])]
        assert actions.count("claim.status_changed") == 7
        assert (await stored(stack, claim["id"]))["version"] == claim["version"]


class TestSubmission:
    async def test_missing_documents_are_named_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "collecting_documents")
        claim = (await document_change(api, people, claim, "claim_form", status="received")).json()
        before = await counts(stack)

        response = await move(api, people.agent, claim, "submitted")

        problem = assert_problem(response, 409)
        assert [d["code"] for d in problem["missing_documents"]] == CRITICAL_ILLNESS_DOCUMENTS[1:]
        assert "Diagnosis certificate" in problem["detail"]
        assert await counts(stack) == before
        row = await stored(stack, claim["id"])
        assert (row["status"], row["version"], row["submitted_on"]) == (
            "collecting_documents",
            claim["version"],
            None,
        )

    async def test_a_rejected_document_counts_as_missing(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "collecting_documents")
        claim = await receive_all(api, people.agent, claim)
        response = await document_change(
            api, people, claim, "pathology_report", status="rejected", rejection_reason="复印件不清晰"
        )
        claim = response.json()

        problem = assert_problem(await move(api, people.agent, claim, "submitted"), 409)

        assert problem["missing_documents"] == [
            {"code": "pathology_report", "name": "Pathology report", "status": "rejected"}
        ]


class TestIllegalTransitions:
    async def test_reported_straight_to_approved_lists_the_allowed_moves(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        before = await counts(stack)

        response = await move(api, people.agent, claim, "approved", approved_amount="100.00")

        problem = assert_illegal_transition(
            response, current="reported", requested="approved", allowed=["collecting_documents", "withdrawn"]
        )
        assert "collecting_documents" in problem["detail"]
        assert await counts(stack) == before
        assert (await stored(stack, claim["id"]))["version"] == 1

    async def test_a_withdrawn_claim_is_final(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "withdrawn", reason="客户决定暂不理赔")
        assert claim["closing_reason"] == "客户决定暂不理赔"
        assert claim["documents_missing_since"] is None

        before = await counts(stack)

        response = await move(api, people.agent, claim, "collecting_documents")

        problem = assert_illegal_transition(
            response, current="withdrawn", requested="collecting_documents", allowed=[]
        )
        assert "final" in problem["detail"]
        assert await counts(stack) == before
        assert (await stored(stack, claim["id"]))["status"] == "withdrawn"

    async def test_fields_of_another_move_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        before = await counts(stack)

        response = await move(api, people.agent, claim, "collecting_documents", paid_amount="10.00")

        problem = assert_problem(response, 422, field="paid_amount")
        assert "collecting_documents" in problem["detail"]
        assert await counts(stack) == before

    async def test_an_unknown_status_is_a_validation_error(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        before = await counts(stack)

        response = await move(api, people.agent, claim, "closed")

        assert_problem(response, 422, field="status")
        assert await counts(stack) == before


class TestDecisionFields:
    @pytest.fixture
    async def approved(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> dict[str, Any]:
        claim = await submitted_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "under_review")
        return await moved(api, people.agent, claim, "approved", approved_amount="300000.00")

    async def test_paid_without_an_amount_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, approved: dict[str, Any]
    ) -> None:
        before = await counts(stack)

        response = await move(api, people.agent, approved, "paid", paid_on=today().isoformat())

        assert_problem(response, 422, field="paid_amount")
        assert await counts(stack) == before
        row = await stored(stack, approved["id"])
        assert (row["status"], row["paid_amount"], row["version"]) == ("approved", None, approved["version"])

    async def test_paid_on_a_future_date_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, approved: dict[str, Any]
    ) -> None:
        before = await counts(stack)

        response = await move(
            api, people.agent, approved, "paid", paid_amount="300000.00", paid_on=days_ago(-3).isoformat()
        )

        assert_problem(response, 422, field="paid_on")
        assert await counts(stack) == before
        assert (await stored(stack, approved["id"]))["status"] == "approved"

    async def test_submitted_on_cannot_be_in_the_future(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "collecting_documents")
        claim = await receive_all(api, people.agent, claim)
        before = await counts(stack)

        response = await move(api, people.agent, claim, "submitted", submitted_on=days_ago(-1).isoformat())

        assert_problem(response, 422, field="submitted_on")
        assert await counts(stack) == before
        assert (await stored(stack, claim["id"]))["status"] == "collecting_documents"

    async def test_paid_on_defaults_to_today(
        self, api: httpx.AsyncClient, people: People, stack: Stack, approved: dict[str, Any]
    ) -> None:
        paid = await moved(api, people.agent, approved, "paid", paid_amount="300000.00")

        assert paid["paid_on"] == today().isoformat()
        row = await stored(stack, approved["id"])
        assert (row["status"], row["paid_on"], str(row["paid_amount"])) == ("paid", today(), "300000.00")
        assert row["closed_at"] is not None
        assert row["documents_missing_since"] is None

    @pytest.mark.parametrize(
        ("status", "body", "field"),
        [
            ("approved", {}, "approved_amount"),
            ("approved", {"approved_amount": "-1.00"}, "approved_amount"),
            ("rejected", {}, "reason"),
            ("rejected", {"reason": "  "}, "reason"),
        ],
    )
    async def test_decisions_need_their_fields(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        policy: dict[str, Any],
        status: str,
        body: dict[str, Any],
        field: str,
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "under_review")
        before = await counts(stack)

        assert_problem(await move(api, people.agent, claim, status, **body), 422, field=field)
        assert await counts(stack) == before

    async def test_rejection_records_the_reason_and_closes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "under_review")

        claim = await moved(api, people.agent, claim, "rejected", reason="等待期内确诊，不属于保险责任")

        assert claim["closing_reason"] == "等待期内确诊，不属于保险责任"
        assert claim["closed_at"] is not None
        assert claim["decided_on"] == today().isoformat()
        row = await stored(stack, claim["id"])
        assert (row["status"], row["closing_reason"], row["decided_on"]) == (
            "rejected",
            "等待期内确诊，不属于保险责任",
            today(),
        )
        events = await stack.fetch(
            "SELECT to_status, summary FROM claims.claim_events WHERE claim_id = $1 ORDER BY id DESC LIMIT 1",
            uuid.UUID(claim["id"]),
        )
        assert (events[0]["to_status"], events[0]["summary"]) == ("rejected", "等待期内确诊，不属于保险责任")


class TestMoneyIsADecimalString:
    @pytest.mark.parametrize(
        ("field", "amount"), [("approved_amount", 450000), ("approved_amount", 450000.5)]
    )
    async def test_a_json_number_in_a_move_is_422_and_nothing_is_stored(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        policy: dict[str, Any],
        field: str,
        amount: float,
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "under_review")
        before = await counts(stack)

        response = await move(api, people.agent, claim, "approved", **{field: amount})

        problem = assert_problem(response, 422, field=field)
        assert "decimal string" in str(problem["errors"])
        assert await counts(stack) == before
        row = await stored(stack, claim["id"])
        assert (row["status"], row["approved_amount"], row["version"]) == (
            "under_review",
            None,
            claim["version"],
        )

    async def test_a_json_number_for_the_paid_amount_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "under_review")
        claim = await moved(api, people.agent, claim, "approved", approved_amount="1000.00")
        before = await counts(stack)

        response = await move(api, people.agent, claim, "paid", paid_amount=1000)

        assert_problem(response, 422, field="paid_amount")
        assert await counts(stack) == before
        row = await stored(stack, claim["id"])
        assert (row["status"], row["paid_amount"], row["closed_at"]) == ("approved", None, None)

    async def test_amounts_come_back_with_two_places(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"], claimed_amount="1200.5")
        assert claim["claimed_amount"] == "1200.50"
        claim = await moved(api, people.agent, claim, "collecting_documents")
        claim = await receive_all(api, people.agent, claim)
        claim = await moved(api, people.agent, claim, "submitted")
        claim = await moved(api, people.agent, claim, "under_review")

        approved = await moved(api, people.agent, claim, "approved", approved_amount="1000")

        assert (approved["claimed_amount"], approved["approved_amount"]) == ("1200.50", "1000.00")
        assert str((await stored(stack, claim["id"]))["approved_amount"]) == "1000.00"


class TestIfMatch:
    async def test_a_move_without_if_match_is_428(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        response = await api.post(
            f"{CLAIMS}/{claim['id']}/transitions",
            json={"status": "collecting_documents"},
            headers=people.agent.headers,
        )

        assert_problem(response, 428)
        row = await stored(stack, claim["id"])
        assert (row["status"], row["version"]) == ("reported", 1)
        assert [r["action"] for r in await audit_rows(stack, claim["id"])] == ["claim.reported"]

    async def test_a_stale_version_is_412(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        await moved(api, people.agent, claim, "collecting_documents")

        response = await move(api, people.agent, claim, "withdrawn")

        assert_problem(response, 412)
        row = await stored(stack, claim["id"])
        assert (row["status"], row["version"], row["closed_at"]) == ("collecting_documents", 2, None)
        assert [r["action"] for r in await audit_rows(stack, claim["id"])] == [
            "claim.reported",
            "claim.status_changed",
        ]


class TestChecklistItems:
    async def test_received_records_who_and_when(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        response = await document_change(
            api, people, claim, "diagnosis_certificate", status="received", note="原件"
        )

        assert response.status_code == 200, response.text
        assert response.headers["etag"] == 'W/"2"'
        item = next(d for d in response.json()["documents"] if d["code"] == "diagnosis_certificate")
        assert item["status"] == "received"
        assert item["received_by"] == str(people.agent.user_id)
        assert item["received_at"] is not None
        assert item["outstanding_since"] is None
        assert item["note"] == "原件"
        rows = await stack.fetch(
            "SELECT status, received_by, received_at, outstanding_since, note FROM claims.claim_documents"
            " WHERE id = $1",
            uuid.UUID(item["id"]),
        )
        assert (rows[0]["status"], rows[0]["received_by"], rows[0]["outstanding_since"], rows[0]["note"]) == (
            "received",
            people.agent.user_id,
            None,
            "原件",
        )
        assert rows[0]["received_at"] is not None
        assert (await stored(stack, claim["id"]))["version"] == 2

    async def test_rejecting_without_a_reason_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = (await document_change(api, people, claim, "claim_form", status="received")).json()
        before = await counts(stack)

        response = await document_change(api, people, claim, "claim_form", status="rejected")

        assert_problem(response, 422, field="rejection_reason")
        assert await counts(stack) == before
        rows = await stack.fetch("SELECT status FROM claims.claim_documents WHERE code = 'claim_form'")
        assert rows[0]["status"] == "received"

    async def test_an_illegal_item_move_lists_the_allowed_ones(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        response = await document_change(api, people, claim, "claim_form", status="submitted")

        assert_illegal_transition(response, current="missing", requested="submitted", allowed=["received"])
        assert (await stored(stack, claim["id"]))["version"] == 1
        rows = await stack.fetch(
            "SELECT status, submitted_at FROM claims.claim_documents WHERE code = 'claim_form'"
        )
        assert (rows[0]["status"], rows[0]["submitted_at"]) == ("missing", None)

    async def test_a_document_of_another_claim_is_not_found(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        first = await report_claim(api, people.agent, policy["id"])
        second = await report_claim(api, people.agent, policy["id"])

        response = await api.patch(
            f"{CLAIMS}/{first['id']}/documents/{second['documents'][0]['id']}",
            json={"status": "received"},
            headers=if_match(people.agent, first["version"]),
        )

        assert_problem(response, 404)
        assert [(await stored(stack, c["id"]))["version"] for c in (first, second)] == [1, 1]
        rows = await stack.fetch("SELECT DISTINCT status FROM claims.claim_documents")
        assert [r["status"] for r in rows] == ["missing"]

    async def test_an_extra_item_can_be_added_and_is_then_required(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "collecting_documents")
        claim = await receive_all(api, people.agent, claim)

        response = await api.post(
            f"{CLAIMS}/{claim['id']}/documents", json={"name": "体检报告"}, headers=people.agent.headers
        )
        assert response.status_code == 201, response.text
        rows = await stack.fetch(
            "SELECT code, name, required, status, outstanding_since FROM claims.claim_documents"
            " WHERE id = $1",
            uuid.UUID(response.json()["id"]),
        )
        assert dict(rows[0]) == {
            "code": "extra_7",
            "name": "体检报告",
            "required": True,
            "status": "missing",
            "outstanding_since": today(),
        }
        claim = (await api.get(f"{CLAIMS}/{claim['id']}", headers=people.agent.headers)).json()
        assert claim["documents_missing_since"] == today().isoformat()

        problem = assert_problem(await move(api, people.agent, claim, "submitted"), 409)
        assert [d["name"] for d in problem["missing_documents"]] == ["体检报告"]


class TestCorrections:
    async def test_the_amount_can_be_corrected_before_submission(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        response = await api.patch(
            f"{CLAIMS}/{claim['id']}", json={"claimed_amount": "480000.50"}, headers=if_match(people.agent, 1)
        )

        assert response.status_code == 200, response.text
        assert response.json()["claimed_amount"] == "480000.50"
        assert response.json()["version"] == 2
        row = await stored(stack, claim["id"])
        assert (str(row["claimed_amount"]), row["version"]) == ("480000.50", 2)
        entry = (await audit_rows(stack, claim["id"]))[-1]
        assert entry["action"] == "claim.corrected"
        assert entry["before"] == {"claimed_amount": "500000.00", "version": 1}

    async def test_after_submission_the_claim_is_with_the_insurer(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])

        response = await api.patch(
            f"{CLAIMS}/{claim['id']}",
            json={"claimed_amount": "1.00"},
            headers=if_match(people.agent, claim["version"]),
        )

        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/claim-not-editable")
        assert not {"current_state", "allowed_next_states"} & problem.keys()
        row = await stored(stack, claim["id"])
        assert (str(row["claimed_amount"]), row["version"]) == ("500000.00", claim["version"])
        assert "claim.corrected" not in [r["action"] for r in await audit_rows(stack, claim["id"])]

    @pytest.mark.parametrize("amount", ["-5.00", "five", None, 12.5])
    async def test_a_bad_amount_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any], amount: object
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])

        response = await api.patch(
            f"{CLAIMS}/{claim['id']}", json={"claimed_amount": amount}, headers=if_match(people.agent, 1)
        )

        assert_problem(response, 422, field="claimed_amount")
        assert (await stored(stack, claim["id"]))["version"] == 1
