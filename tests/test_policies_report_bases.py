"""The business report counts each figure by one date basis, named next to it (issue 16, item 9):
before, issued applications were counted by creation date and ``policies_issued`` by issue date
(4 and 1 for the same period) with nothing saying so."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import People
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    act,
    create_application,
    create_client,
    create_product,
    decision,
    issue_body,
    pay_first_premium,
    today,
    walk_to_approved,
)
from tests.views_support import REPORT

PERIOD = {"from": (today() - timedelta(days=30)).isoformat(), "to": today().isoformat()}
BASES = {
    "proposals_by_status": "created_at",
    "applications_by_status": "applied_on",
    "applications_submitted": "submitted_on",
    "applications_decided": "decided_on",
    "policies_issued": "issued_on",
    "annual_premium_issued": "issued_on",
    "cooling_off_cancellations": "ended_on",
    "cooling_off_refunds": "ended_on",
    "annual_reviews_held": "reviewed_on",
}


async def _issued(
    api: httpx.AsyncClient,
    people: People,
    product: dict[str, Any],
    *,
    applied: int,
    decided: int,
    issued: int,
) -> None:
    """An application signed, submitted and approved, then issued, so many days ago."""
    client = await create_client(api, people.agent)
    application = await create_application(
        api,
        people.agent,
        client["id"],
        product["id"],
        applied_on=(today() - timedelta(days=applied)).isoformat(),
    )
    approved = await walk_to_approved(
        api, people.agent, application, decided_on=today() - timedelta(days=decided)
    )
    await pay_first_premium(api, people.agent, approved, paid_on=today() - timedelta(days=issued))
    await act(
        api,
        people.agent,
        f"{APPLICATIONS}/{approved['id']}/issue",
        approved["version"],
        issue_body(issued_on=today() - timedelta(days=issued)),
    )


async def _a_month(api: httpx.AsyncClient, people: People) -> None:
    product = await create_product(api, people.admin)
    await _issued(api, people, product, applied=40, decided=36, issued=35)  # all before the period
    await _issued(api, people, product, applied=40, decided=20, issued=10)  # applied before, issued in it
    await _issued(api, people, product, applied=0, decided=0, issued=0)  # all today
    client = await create_client(api, people.agent)
    declined = await create_application(api, people.agent, client["id"], product["id"])
    path = f"{APPLICATIONS}/{declined['id']}"
    app = await act(api, people.agent, f"{path}/submit", declined["version"])
    app = await act(api, people.agent, f"{path}/underwriting", app["version"])
    await act(api, people.agent, f"{path}/decline", app["version"], decision(reason="高风险职业"))


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {r["key"]: r["count"] for r in rows}


class TestOneBasisPerFigure:
    async def test_each_figure_counts_by_its_own_date(self, api: httpx.AsyncClient, people: People) -> None:
        await _a_month(api, people)

        response = await api.get(f"{BASE}/reports/business", params=PERIOD, headers=people.lead.headers)

        assert response.status_code == 200, response.text
        report = response.json()
        assert report["date_bases"] == BASES
        # The cohort of the period (applied_on): the one issued today and the one declined.
        assert _counts(report["applications_by_status"]) == {"declined": 1, "issued": 1}
        assert report["applications_submitted"] == 3
        assert _counts(report["applications_decided"]) == {"approved": 2, "declined": 1}
        # By the insurer's issue date: also the one applied for before the period.
        assert report["policies_issued"] == 2
        assert report["annual_premium_issued"] == "16000.00"

    async def test_the_gateway_report_names_the_bases_in_json_and_csv(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await _a_month(api, people)

        body = (await api.get(REPORT, params=PERIOD, headers=people.lead.headers)).json()
        assert body["policies"]["date_bases"]["policies_issued"] == "issued_on"
        assert body["policies"]["policies_issued"] == 2

        response = await api.get(REPORT, params=PERIOD, headers={**people.lead.headers, "Accept": "text/csv"})
        rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert ["policies", "date_bases", "policies_issued", "issued_on"] in rows
        assert ["policies", "date_bases", "applications_by_status", "applied_on"] in rows
        assert ["policies", "policies_issued", "", "2"] in rows

    async def test_the_openapi_description_names_each_basis(self, api: httpx.AsyncClient) -> None:
        document = (await api.get("/openapi.json")).json()
        [report] = [
            s for name, s in document["components"]["schemas"].items() if name.endswith("PoliciesReport")
        ]
        for figure, basis in BASES.items():
            assert f"`{basis}`" in report["properties"][figure]["description"], figure
