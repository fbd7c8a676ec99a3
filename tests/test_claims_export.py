"""The claims CSV export (crmkit.csv): the caller's scope, the BOM and header first, money in two
places, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.claims_support import CLAIMS, issue_policy, report_claim
from tests.conftest import People


@pytest.fixture
async def policy(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    return await issue_policy(api, people, people.agent)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


class TestClaimsExport:
    async def test_text_that_starts_like_a_formula_is_neutralised(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claimant = {"name": '=HYPERLINK("http://evil.example","点击")', "bank_name": "@SUM(A1:A9)"}
        claim = await report_claim(api, people.agent, policy["id"], claimant=claimant)
        assert claim["claimant"]["name"] == claimant["name"]  # stored and shown as sent

        (row,) = rows_of(await api.get(f"{CLAIMS}/export", headers=people.agent.headers))

        assert row["claimant_name"] == "'" + claimant["name"]
        assert row["bank_name"] == "'@SUM(A1:A9)"
        assert row["id"] == claim["id"]

    async def test_money_has_two_places_and_empty_values_are_empty(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        await report_claim(api, people.agent, policy["id"], claimed_amount="1200")

        (row,) = rows_of(await api.get(f"{CLAIMS}/export", headers=people.agent.headers))

        assert row["claimed_amount"] == "1200.00"
        assert (row["paid_amount"], row["decided_on"], row["status"]) == ("", "", "reported")
