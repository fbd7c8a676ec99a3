"""CSV exports: clients (masked, or revealed with an audited reason), applications, policies, claims."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from services.clients.exports import service as client_export
from tests.claims_support import BANK_ACCOUNT, issue_policy, report_claim
from tests.clients_support import CLIENTS, assert_problem, count_audit, create_client, resident_id
from tests.conftest import People, Stack

EXPORT = f"{CLIENTS}/export"


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


class TestClientsExport:
    async def test_the_callers_clients_with_identifiers_masked(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        rid = resident_id("19850612")
        await create_client(api, people.agent, name="王芳", resident_id=rid, phone="13812345678")
        await create_client(api, people.agent, name="李雷")
        await create_client(api, people.outsider, name="Not mine")

        response = await api.get(EXPORT, headers=people.agent.headers)

        rows = rows_of(response)
        assert sorted(r["name"] for r in rows) == ["李雷", "王芳"]
        wang = next(r for r in rows if r["name"] == "王芳")
        assert wang["id_document_type"] == "resident_id"
        assert wang["id_document_number"] == "110***********" + rid[-4:]
        assert wang["phone"] == "+86 138****5678"
        assert wang["birth_date"] == "1985-06-12"
        assert rid not in response.text
        assert "13812345678" not in response.text
        assert response.headers["cache-control"] == "no-store"

    async def test_a_team_lead_exports_the_team_and_an_admin_everyone(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await create_client(api, people.agent, name="A")
        await create_client(api, people.colleague, name="B")
        await create_client(api, people.outsider, name="C")

        team = rows_of(await api.get(EXPORT, headers=people.lead.headers))
        everyone = rows_of(await api.get(EXPORT, headers=people.admin.headers))

        assert sorted(r["name"] for r in team) == ["A", "B"]
        assert sorted(r["name"] for r in everyone) == ["A", "B", "C"]

    async def test_batches_follow_the_keyset_without_gaps_or_repeats(
        self, api: httpx.AsyncClient, people: People, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr(client_export, "BATCH_ROWS", 2)
        for i in range(5):
            await create_client(api, people.agent, name=f"Client {i}")

        rows = rows_of(await api.get(EXPORT, headers=people.agent.headers))

        assert sorted(r["name"] for r in rows) == [f"Client {i}" for i in range(5)]
        assert len({r["id"] for r in rows}) == 5

    async def test_revealed_with_a_reason_and_audited(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        rid = resident_id("19850612")
        await create_client(api, people.agent, name="王芳", resident_id=rid, phone="13812345678")

        response = await api.get(
            EXPORT, params={"reveal": "true", "reason": "insurer audit request"}, headers=people.agent.headers
        )

        [row] = rows_of(response)
        assert row["id_document_number"] == rid
        assert row["phone"] == "+8613812345678"
        audited = await stack.fetch(
            "SELECT actor, after FROM clients.audit_log WHERE resource_type = 'client_export'"
        )
        assert len(audited) == 1
        assert audited[0]["actor"] == f"user:{people.agent.user_id}"
        assert "insurer audit request" in audited[0]["after"]
        assert rid not in audited[0]["after"]

    async def test_reveal_without_a_reason_is_422_and_nothing_is_revealed(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_client(api, people.agent, name="王芳", phone="13812345678")
        audited = await count_audit(stack)

        response = await api.get(EXPORT, params={"reveal": "true"}, headers=people.agent.headers)

        assert_problem(response, 422, field="reason")
        assert "13812345678" not in response.text
        assert await count_audit(stack) == audited

    async def test_operations_staff_cannot_export(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(EXPORT, headers=people.ops.headers), 403)


class TestPoliciesAndClaimsExport:
    async def test_applications_and_policies_are_exported_by_kind_and_scope(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await issue_policy(api, people, people.agent)
        await issue_policy(api, people, people.outsider)

        applications = rows_of(
            await api.get(
                "/api/v1/policies/export", params={"kind": "applications"}, headers=people.agent.headers
            )
        )
        policies = rows_of(
            await api.get(
                "/api/v1/policies/export", params={"kind": "policies"}, headers=people.agent.headers
            )
        )

        assert [p["id"] for p in policies] == [policy["id"]]
        assert policies[0]["policy_number"] == policy["policy_number"]
        assert policies[0]["annual_premium"] == policy["annual_premium"]
        assert [a["policy_id"] for a in applications] == [policy["id"]]
        assert "health" not in ",".join(applications[0])

    async def test_an_unknown_kind_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            "/api/v1/policies/export", params={"kind": "claims"}, headers=people.agent.headers
        )

        assert_problem(response, 422, field="query.kind")

    async def test_claims_are_exported_scoped_with_bank_accounts_masked(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        mine = await issue_policy(api, people, people.agent)
        theirs = await issue_policy(api, people, people.outsider)
        claim = await report_claim(api, people.agent, mine["id"])
        await report_claim(api, people.outsider, theirs["id"])

        response = await api.get("/api/v1/claims/export", headers=people.agent.headers)

        rows = rows_of(response)
        assert [r["id"] for r in rows] == [claim["id"]]
        assert rows[0]["claimed_amount"] == "500000.00"
        assert rows[0]["bank_account_masked"]
        assert BANK_ACCOUNT not in response.text
