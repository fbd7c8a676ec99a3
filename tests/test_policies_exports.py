"""The CSV export of policies: text a spreadsheet would run as a formula comes out as text."""

from __future__ import annotations

import csv
import io

import httpx

from tests.conftest import People
from tests.policies_support import BASE, create_client, create_product, issue_policy


class TestExportNeutralisesFormulas:
    async def test_a_product_name_starting_with_equals_gets_a_leading_quote(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, name='=HYPERLINK("http://x.example","点我")')
        client = await create_client(api, people.agent)
        policy = await issue_policy(api, people.agent, client["id"], product_id=product["id"])

        response = await api.get(f"{BASE}/export", params={"kind": "policies"}, headers=people.agent.headers)

        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith("\ufeff".encode())
        [row] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert row["id"] == policy["id"]
        assert row["product_name"] == "'" + product["name"]
        assert row["annual_premium"] == "8000.00"


class TestExportCarriesTheEvidence:
    async def test_references_and_the_application_date_are_exported(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        policy = await issue_policy(api, people.agent, client["id"], admin=people.admin)

        policies = await api.get(f"{BASE}/export", params={"kind": "policies"}, headers=people.agent.headers)
        [row] = list(csv.DictReader(io.StringIO(policies.content.decode("utf-8-sig"))))
        assert row["issue_reference"] == policy["issue_reference"] != ""

        applications = await api.get(
            f"{BASE}/export", params={"kind": "applications"}, headers=people.agent.headers
        )
        [row] = list(csv.DictReader(io.StringIO(applications.content.decode("utf-8-sig"))))
        assert row["decision_reference"].startswith("UW-")
        assert row["applied_on"] == policy["issued_on"]
