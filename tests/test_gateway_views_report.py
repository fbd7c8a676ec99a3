"""The team lead's business report through the gateway: JSON and CSV, scoping, and bad input."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx

from tests.claims_support import report_claim
from tests.conftest import People, Stack
from tests.devices_support import create_device, record_check
from tests.policies_support import act, create_client, issue_policy, today
from tests.views_support import CLIENTS, REPORT, assert_problem

PERIOD = {"from": (today() - timedelta(days=30)).isoformat(), "to": today().isoformat()}


def _count(items: list[dict[str, Any]], key: str) -> int:
    return next((i["count"] for i in items if i["key"] == key), 0)


async def _month_of_business(api: httpx.AsyncClient, people: People) -> None:
    """Team North: two new clients (one referral), an in-force policy with a claim, a policy
    cancelled in cooling-off, a complaint, an abnormal device check. Team South: one client."""
    warm = await create_client(api, people.agent, name="周杰", channel="warm_market")
    await create_client(api, people.colleague, name="吴磊", channel="online")
    await create_client(api, people.outsider, name="郑爽", channel="cold")
    policy = await issue_policy(
        api,
        people.agent,
        warm["id"],
        admin=people.admin,
        effective_on=today() - timedelta(days=20),
        annual_premium="8000.00",
    )
    await report_claim(api, people.agent, policy["id"])
    cancelled = await issue_policy(
        api, people.agent, warm["id"], admin=people.admin, in_force=False, annual_premium="1200.00"
    )
    cancelled = await act(
        api,
        people.agent,
        f"/api/v1/policies/{cancelled['id']}/receipt",
        cancelled["version"],
        {"signed_on": today().isoformat()},
    )
    await act(
        api,
        people.agent,
        f"/api/v1/policies/{cancelled['id']}/cancellation",
        cancelled["version"],
        {"requested_on": today().isoformat()},
    )
    complaint = await api.post(
        f"{CLIENTS}/{warm['id']}/complaints",
        json={"summary": "理赔进度太慢", "category": "service"},
        headers=people.agent.headers,
    )
    assert complaint.status_code == 201, complaint.text
    device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
    await record_check(api, people.agent, device["id"], {"display": "屏幕闪烁"})


class TestLeadsReport:
    async def test_the_team_in_every_section(self, api: httpx.AsyncClient, people: People) -> None:
        await _month_of_business(api, people)

        response = await api.get(REPORT, params=PERIOD, headers=people.lead.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is False
        assert (body["from"], body["to"]) == (PERIOD["from"], PERIOD["to"])
        assert body["scope"] == "team"
        assert body["team_id"] == str(people.north_team_id)
        clients = body["clients"]
        assert clients["new_clients"] == 2
        assert _count(clients["new_clients_by_channel"], "warm_market") == 1
        assert _count(clients["new_clients_by_channel"], "online") == 1
        assert _count(clients["new_clients_by_channel"], "cold") == 0
        assert sum(c["count"] for c in clients["new_clients_by_tier"]) == 2
        assert sum(c["count"] for c in clients["complaints_by_status"]) == 1
        assert isinstance(clients["tier_movements"], list)
        policies = body["policies"]
        assert policies["policies_issued"] == 2
        assert policies["annual_premium_issued"] == "9200.00"
        assert policies["cooling_off_cancellations"] == 1
        assert _count(policies["applications_by_status"], "issued") == 2
        claims = body["claims"]
        assert claims["claims_opened"] == 1
        assert claims["claims_paid"] == 0
        assert claims["amount_paid"] == "0.00"
        assert claims["average_days_to_pay"] is None
        assert body["devices"]["abnormalities"] == 1
        assert _count(body["devices"]["abnormalities_by_category"], "display") == 1

    async def test_the_admin_sees_everyone(self, api: httpx.AsyncClient, people: People) -> None:
        await _month_of_business(api, people)

        body = (await api.get(REPORT, params=PERIOD, headers=people.admin.headers)).json()

        assert body["scope"] == "all"
        assert body["team_id"] is None
        assert body["clients"]["new_clients"] == 3

    async def test_as_csv_flat_rows_with_a_filename(self, api: httpx.AsyncClient, people: People) -> None:
        await _month_of_business(api, people)

        response = await api.get(REPORT, params=PERIOD, headers={**people.lead.headers, "Accept": "text/csv"})

        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == (
            f'attachment; filename="business-report-{PERIOD["from"]}-{PERIOD["to"]}.csv"'
        )
        assert response.text.startswith("\ufeff")  # so spreadsheet programs read it as UTF-8
        rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert rows[0] == ["section", "metric", "key", "value"]
        assert all(len(row) == 4 for row in rows)
        assert ["clients", "new_clients", "", "2"] in rows
        assert ["clients", "new_clients_by_channel", "warm_market", "1"] in rows
        assert ["policies", "annual_premium_issued", "", "9200.00"] in rows
        assert ["policies", "cooling_off_cancellations", "", "1"] in rows
        assert ["devices", "abnormalities_by_category", "display", "1"] in rows
        assert ["report", "partial", "", "false"] in rows

    async def test_csv_names_a_missing_section(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        stack.mesh.down.add("claims.internal")

        response = await api.get(REPORT, params=PERIOD, headers={**people.lead.headers, "Accept": "text/csv"})

        rows = list(csv.reader(io.StringIO(response.text)))
        assert ["claims", "unavailable", "", ""] in rows
        assert ["sources", "status", "claims", "unavailable"] in rows
        assert ["report", "partial", "", "true"] in rows


class TestBadInput:
    async def _audit_rows(self, stack: Stack) -> int:
        rows = await stack.fetch("SELECT count(*) AS n FROM clients.audit_log")
        return int(rows[0]["n"])

    async def test_a_date_that_is_not_a_date_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        response = await api.get(REPORT, params={"from": "yesterday"}, headers=people.lead.headers)

        assert_problem(response, 422, field="query.from")
        assert await self._audit_rows(stack) == 0

    async def test_to_before_from_is_422(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        params = {"from": today().isoformat(), "to": (today() - timedelta(days=1)).isoformat()}

        problem = assert_problem(
            await api.get(REPORT, params=params, headers=people.lead.headers), 422, field="query.to"
        )

        assert "before" in problem["detail"]

    async def test_more_than_a_year_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        params = {"from": (today() - timedelta(days=400)).isoformat(), "to": today().isoformat()}

        problem = assert_problem(
            await api.get(REPORT, params=params, headers=people.lead.headers), 422, field="query.to"
        )

        assert "366" in problem["detail"]

    async def test_a_date_in_year_9999_is_422_not_a_crash(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        params = {"from": "9999-12-30", "to": "9999-12-31"}

        assert_problem(
            await api.get(REPORT, params=params, headers=people.lead.headers), 422, field="query.from"
        )
        for service in ("clients", "policies", "claims"):
            response = await api.get(
                f"/api/v1/{service}/reports/business", params=params, headers=people.lead.headers
            )
            assert_problem(response, 422, field="query.from")

    async def test_an_agent_gets_403(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(REPORT, params=PERIOD, headers=people.agent.headers), 403)

    async def test_operations_staff_get_403(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(REPORT, headers=people.ops.headers), 403)


class TestServiceReports:
    async def test_each_service_refuses_agents(self, api: httpx.AsyncClient, people: People) -> None:
        for service in ("clients", "policies", "claims"):
            response = await api.get(f"/api/v1/{service}/reports/business", headers=people.agent.headers)
            assert_problem(response, 403)

    async def test_each_service_checks_the_period(self, api: httpx.AsyncClient, people: People) -> None:
        params = {"from": today().isoformat(), "to": (today() - timedelta(days=1)).isoformat()}
        for service in ("clients", "policies", "claims"):
            response = await api.get(
                f"/api/v1/{service}/reports/business", params=params, headers=people.lead.headers
            )
            assert_problem(response, 422, field="query.to")

    async def test_each_service_defaults_to_this_month(self, api: httpx.AsyncClient, people: People) -> None:
        for service in ("clients", "policies", "claims"):
            response = await api.get(f"/api/v1/{service}/reports/business", headers=people.admin.headers)
            assert response.status_code == 200, response.text
            assert response.json()["from"] == today().replace(day=1).isoformat()
