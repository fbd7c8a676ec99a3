# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Applications: the client checked over HTTP, beneficiaries, guardians, age limits, health data."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import People, Stack
from tests.policies_support import (
    APPLICATIONS,
    act,
    application_body,
    assert_problem,
    counts,
    create_application,
    create_client,
    create_product,
    if_match,
    today,
)


def _named(*shares: str) -> dict[str, Any]:
    return {
        "designation": "named",
        "persons": [
            {"name": f"受益人{i}", "relationship": "child", "share": share}
            for i, share in enumerate(shares, 1)
        ],
    }


def _years_ago(years: int) -> str:
    day = today()
    return day.replace(year=day.year - years, day=min(day.day, 28)).isoformat()


class TestAgentStartsApplication:
    async def test_draft_with_named_beneficiaries(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        response = await api.post(
            APPLICATIONS,
            json=application_body(client["id"], product["id"], beneficiaries=_named("60.00", "40.00")),
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        application = response.json()
        assert application["status"] == "draft"
        assert application["owner_agent_id"] == str(people.agent.user_id)
        assert application["team_id"] == str(people.north_team_id)
        assert application["insured_name"] == client["name"]
        assert application["beneficiaries"]["persons"][0]["share"] == "60.00"
        assert application["health_disclosure"] == {"questions": 2, "yes_answers": 0}
        assert response.headers["etag"] == 'W/"1"'

    async def test_legal_heirs_need_no_names(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        application = await create_application(api, people.agent, client["id"], product["id"])
        assert application["beneficiaries"] == {"designation": "legal_heirs"}

    async def test_health_disclosure_is_encrypted_at_rest_and_never_shown(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        disclosure = [{"question": "是否患有慢性病", "answer": True, "details": "甲状腺结节三级 2023年确诊"}]
        application = await create_application(
            api, people.agent, client["id"], product["id"], health_disclosure=disclosure
        )
        [row] = await stack.fetch(
            "SELECT * FROM policies.applications WHERE id = $1", uuid.UUID(application["id"])
        )
        assert "甲状腺" not in str(dict(row))
        assert "甲状腺".encode() not in bytes(row["health_disclosure_cipher"])
        audit = await stack.fetch("SELECT after::text AS a FROM policies.audit_log")
        assert all("甲状腺" not in r["a"] for r in audit)
        shown = await api.get(f"{APPLICATIONS}/{application['id']}", headers=people.agent.headers)
        assert "甲状腺" not in shown.text
        assert shown.json()["health_disclosure"] == {"questions": 1, "yes_answers": 1}

    async def test_minor_with_guardian_signature(self, api: httpx.AsyncClient, people: People) -> None:
        child = await create_client(api, people.agent, name="张小宝", birth_date=_years_ago(6))
        product = await create_product(api, people.admin)
        guardian = {"guardian_name": "张伟", "relationship": "parent", "signed_on": today().isoformat()}
        application = await create_application(
            api, people.agent, child["id"], product["id"], guardian_signature=guardian
        )
        assert application["guardian_signature"] == guardian


class TestBadApplications:
    async def _refused(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        expected: int,
        field: str | None,
        **body: Any,
    ) -> dict[str, Any]:
        client = await create_client(api, people.agent, birth_date=body.pop("birth_date", "1985-06-12"))
        product = await create_product(api, people.admin, **body.pop("product", {}))
        before = await counts(stack)
        response = await api.post(
            APPLICATIONS,
            json=application_body(client["id"], product["id"], **body),
            headers=people.agent.headers,
        )
        problem = assert_problem(response, expected, field=field)
        assert await counts(stack) == before
        return problem

    @pytest.mark.parametrize(
        ("shares", "message"),
        [
            (("60.00", "39.00"), "sum to 99.00%; they must sum to exactly 100%"),
            (("60.00", "41.00"), "sum to 101.00%; they must sum to exactly 100%"),
            (("99",), "sum to 99%; they must sum to exactly 100%"),
            (("101",), "less than or equal to 100"),
        ],
    )
    async def test_beneficiary_shares_not_summing_to_100(
        self, api: httpx.AsyncClient, people: People, stack: Stack, shares: tuple[str, ...], message: str
    ) -> None:
        problem = await self._refused(api, people, stack, 422, "beneficiaries", beneficiaries=_named(*shares))
        assert message in problem["detail"]

    async def test_minor_without_guardian_signature(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        problem = await self._refused(
            api, people, stack, 422, "guardian_signature", birth_date=_years_ago(10)
        )
        assert "minor (10)" in problem["detail"]

    async def test_insured_older_than_the_product_allows(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        problem = await self._refused(
            api, people, stack, 422, "client_id", birth_date=_years_ago(61), product={"max_insured_age": 60}
        )
        assert "is 61" in problem["detail"]
        assert "ages 0 to 60" in problem["detail"]

    async def test_insured_younger_than_the_product_allows(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await self._refused(
            api, people, stack, 422, "client_id", birth_date=_years_ago(17), product={"min_insured_age": 18}
        )

    async def test_insured_without_birth_date(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        problem = await self._refused(api, people, stack, 422, "client_id", birth_date=None)
        assert "birth date" in problem["detail"]

    async def test_payment_period_the_product_does_not_offer(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await self._refused(api, people, stack, 422, "payment_years", payment_years=15)

    @pytest.mark.parametrize("amount", [500000.0, "abc", "-1.00", "1.001"])
    async def test_money_must_be_a_positive_decimal_string(
        self, api: httpx.AsyncClient, people: People, stack: Stack, amount: object
    ) -> None:
        await self._refused(api, people, stack, 422, "sum_insured", sum_insured=amount)

    async def test_yes_answer_without_details(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await self._refused(
            api,
            people,
            stack,
            422,
            "health_disclosure",
            health_disclosure=[{"question": "住院?", "answer": True}],
        )

    async def test_server_owned_fields_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await self._refused(api, people, stack, 422, "status", status="approved")

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        theirs = await create_client(api, people.colleague)
        product = await create_product(api, people.admin)
        before = await counts(stack)
        response = await api.post(
            APPLICATIONS, json=application_body(theirs["id"], product["id"]), headers=people.agent.headers
        )
        problem = assert_problem(response, 404)
        assert "client" in problem["detail"]
        assert await counts(stack) == before

    async def test_client_unknown_to_the_clients_service_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        before = await counts(stack)
        response = await api.post(
            APPLICATIONS,
            json=application_body(str(uuid.uuid4()), product["id"]),
            headers=people.agent.headers,
        )
        assert "no such client" in assert_problem(response, 404)["detail"]
        assert await counts(stack) == before

    async def test_clients_service_down_is_503_with_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        before = await counts(stack)
        stack.mesh.down.add("clients.internal")
        response = await api.post(
            APPLICATIONS, json=application_body(client["id"], product["id"]), headers=people.agent.headers
        )
        problem = assert_problem(response, 503)
        assert "clients service" in problem["detail"]
        assert await counts(stack) == before


async def _draft(api: httpx.AsyncClient, people: People, **overrides: Any) -> dict[str, Any]:
    client = await create_client(api, people.agent)
    product = await create_product(api, people.admin)
    return await create_application(api, people.agent, client["id"], product["id"], **overrides)


class TestPreUnderwriting:
    DISCLOSURE = [{"question": "是否有既往症", "answer": True, "details": "乙肝小三阳，肝功能正常"}]

    async def test_declared_conditions_need_an_opinion_before_submission(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        draft = await _draft(api, people, health_disclosure=self.DISCLOSURE)
        path = f"{APPLICATIONS}/{draft['id']}"
        before = await counts(stack)
        refused = await api.post(f"{path}/submit", headers=if_match(people.agent, draft["version"]))
        assert "预核保" in assert_problem(refused, 409)["detail"]
        assert await counts(stack) == before

        opinion = {"conditions": "乙肝小三阳", "opinion": "exclusion", "opinion_on": today().isoformat()}
        recorded = await act(api, people.agent, f"{path}/pre-underwriting", draft["version"], opinion)
        assert recorded["pre_underwriting"] == {"opinion": "exclusion", "opinion_on": today().isoformat()}
        [row] = await stack.fetch(
            "SELECT pre_underwriting_cipher FROM policies.applications WHERE id = $1", uuid.UUID(draft["id"])
        )
        assert "乙肝".encode() not in bytes(row["pre_underwriting_cipher"])
        submitted = await act(api, people.agent, f"{path}/submit", recorded["version"])
        assert submitted["status"] == "submitted"

    async def test_only_before_submission(self, api: httpx.AsyncClient, people: People) -> None:
        draft = await _draft(api, people)
        path = f"{APPLICATIONS}/{draft['id']}"
        submitted = await act(api, people.agent, f"{path}/submit", draft["version"])
        opinion = {"conditions": "无", "opinion": "standard", "opinion_on": today().isoformat()}
        response = await api.post(
            f"{path}/pre-underwriting", json=opinion, headers=if_match(people.agent, submitted["version"])
        )
        problem = assert_problem(response, 409)
        assert "before submission" in problem["detail"]
        assert "requested_state" not in problem  # a rule on the record, not a move of the state machine
        stored = (await api.get(path, headers=people.agent.headers)).json()
        assert (stored["pre_underwriting"], stored["version"]) == (None, submitted["version"])


class TestIllegalApplicationTransitions:
    @pytest.mark.parametrize(
        ("action", "requested", "body"),
        [
            ("approve", "approved", {"insurer_reference": "UW-1", "decided_on": "2026-01-01"}),
            ("underwriting", "underwriting", None),
            (
                "issue",
                "issued",
                {
                    "policy_number": "P0001",
                    "insurer_reference": "CB-1",
                    "issued_on": "2026-01-01",
                    "effective_on": "2026-01-02",
                },
            ),
            (
                "decline",
                "declined",
                {"reason": "高风险", "insurer_reference": "UW-2", "decided_on": "2026-01-01"},
            ),
        ],
    )
    async def test_from_draft_answers_409_with_allowed_states(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        action: str,
        requested: str,
        body: dict[str, str] | None,
    ) -> None:
        draft = await _draft(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{draft['id']}/{action}",
            json=body,
            headers=if_match(people.agent, draft["version"]),
        )
        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/illegal-transition")
        assert problem["current_state"] == "draft"
        assert problem["requested_state"] == requested
        assert problem["allowed_next_states"] == ["submitted", "withdrawn"]
        assert not {"current_status", "allowed", "allowed_next", "allowed_next_statuses"} & problem.keys()
        assert "allowed next states: submitted, withdrawn" in problem["detail"]
        assert await counts(stack) == before
        [row] = await stack.fetch(
            "SELECT status, version FROM policies.applications WHERE id = $1", uuid.UUID(draft["id"])
        )
        assert (row["status"], row["version"]) == ("draft", 1)

    async def test_withdrawn_is_final(self, api: httpx.AsyncClient, people: People) -> None:
        draft = await _draft(api, people)
        path = f"{APPLICATIONS}/{draft['id']}"
        withdrawn = await act(
            api, people.agent, f"{path}/withdraw", draft["version"], {"reason": "客户改变主意"}
        )
        assert withdrawn["status"] == "withdrawn"
        assert withdrawn["status_reason"] == "客户改变主意"
        again = await api.post(f"{path}/submit", headers=if_match(people.agent, withdrawn["version"]))
        problem = assert_problem(again, 409)
        assert (problem["current_state"], problem["requested_state"]) == ("withdrawn", "submitted")
        assert problem["allowed_next_states"] == []
        stored = (await api.get(path, headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"], stored["submitted_on"]) == (
            "withdrawn",
            withdrawn["version"],
            None,
        )

    async def test_transition_needs_if_match(self, api: httpx.AsyncClient, people: People) -> None:
        draft = await _draft(api, people)
        path = f"{APPLICATIONS}/{draft['id']}"
        assert_problem(await api.post(f"{path}/submit", headers=people.agent.headers), 428)
        assert_problem(await api.post(f"{path}/submit", headers=if_match(people.agent, 7)), 412)
        stored = (await api.get(path, headers=people.agent.headers)).json()
        assert (stored["status"], stored["version"], stored["submitted_on"]) == ("draft", 1, None)


class TestUnderwritingRequirements:
    async def test_withdrawal_closes_pending_requirements(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        draft = await _draft(api, people)
        path = f"{APPLICATIONS}/{draft['id']}"
        app = await act(api, people.agent, f"{path}/submit", draft["version"])
        app = await act(api, people.agent, f"{path}/underwriting", app["version"])
        due = (today() + timedelta(days=5)).isoformat()
        app = await act(
            api,
            people.agent,
            f"{path}/requirements",
            app["version"],
            {"kind": "hospital_records", "due_on": due},
        )
        app = await act(
            api,
            people.agent,
            f"{path}/requirements",
            app["version"],
            {"kind": "financial_proof", "due_on": due},
        )
        assert [r["kind"] for r in app["requirements"]] == ["hospital_records", "financial_proof"]
        withdrawn = await act(api, people.agent, f"{path}/withdraw", app["version"], {"reason": "客户撤回"})
        assert {r["status"] for r in withdrawn["requirements"]} == {"closed"}

    async def test_due_date_in_the_past_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        draft = await _draft(api, people)
        path = f"{APPLICATIONS}/{draft['id']}"
        app = await act(api, people.agent, f"{path}/submit", draft["version"])
        app = await act(api, people.agent, f"{path}/underwriting", app["version"])
        before = await counts(stack)
        response = await api.post(
            f"{path}/requirements",
            json={"kind": "other", "due_on": (today() - timedelta(days=1)).isoformat()},
            headers=if_match(people.agent, app["version"]),
        )
        assert_problem(response, 422, field="due_on")
        assert await counts(stack) == before

    async def test_requirements_only_while_underwriting(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        draft = await _draft(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{draft['id']}/requirements",
            json={"kind": "other", "due_on": date.max.isoformat()},
            headers=if_match(people.agent, draft["version"]),
        )
        problem = assert_problem(response, 409)
        assert (problem["current_state"], problem["requested_state"]) == ("draft", "requirements_pending")
        assert problem["allowed_next_states"] == ["submitted", "withdrawn"]
        assert await counts(stack) == before
        stored = (await api.get(f"{APPLICATIONS}/{draft['id']}", headers=people.agent.headers)).json()
        assert (stored["status"], stored["requirements"]) == ("draft", [])


class TestIdempotentCreation:
    async def test_retry_with_the_same_key_creates_one_application(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        product = await create_product(api, people.admin)
        body = application_body(client["id"], product["id"])
        headers = {**people.agent.headers, "Idempotency-Key": "app-retry-1"}
        first = await api.post(APPLICATIONS, json=body, headers=headers)
        again = await api.post(APPLICATIONS, json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert (await counts(stack))["applications"] == 1
