"""Issue 17, item 6: the compliance view at the gateway. Per agent: overrides of the plan rules,
failed or missing return visits, sales missing traceability, misleading-sales complaints, consent
withdrawals with open work. JSON or CSV; a lead's team, an admin's all, 403 for an agent."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx

from tests.compliance_support import accept, participating
from tests.conftest import People, Stack
from tests.policies_support import (
    BASE,
    CLIENTS,
    PROPOSALS,
    act,
    assert_problem,
    create_application,
    create_client,
    create_product,
    issue_policy,
    today,
)

VIEW = "/api/v1/compliance/findings"


async def _findings_of_team_north(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    """The agent: a plan accepted by informed choice, a senior's sale unrecorded, a failed return
    visit, a misleading-sales complaint, a consent withdrawn from a client with an open application.
    The outsider (team South): an unrecorded sale of their own."""
    annuity = await create_product(api, people.admin, **participating(exclusions=[]))
    client = await create_client(api, people.agent)
    response = await api.post(
        PROPOSALS,
        json={
            "client_id": client["id"],
            "items": [
                {
                    "product_id": annuity["id"],
                    "sum_insured": "100000.00",
                    "annual_premium": "10000.00",
                    "payment_years": 10,
                }
            ],
        },
        headers=people.agent.headers,
    )
    assert response.status_code == 201, response.text
    proposal = await accept(api, people.agent, response.json())

    long_cover = await create_product(api, people.admin, max_insured_age=75)
    born = today().replace(year=today().year - 65, day=min(today().day, 28)).isoformat()
    senior = await create_client(api, people.agent, name="王老先生", birth_date=born)
    unrecorded = await create_application(api, people.agent, senior["id"], long_cover["id"])
    outsider_senior = await create_client(api, people.outsider, name="李老太", birth_date=born)
    await create_application(api, people.outsider, outsider_senior["id"], long_cover["id"])

    visited = await create_client(api, people.agent, name="赵敏")
    policy = await issue_policy(
        api,
        people.agent,
        visited["id"],
        admin=people.admin,
        in_force=False,
        effective_on=today() - timedelta(days=5),
    )
    policy = await act(
        api,
        people.agent,
        f"{BASE}/{policy['id']}/receipt",
        policy["version"],
        {"signed_on": today().isoformat()},
    )
    await act(
        api,
        people.agent,
        f"{BASE}/{policy['id']}/return-visit",
        policy["version"],
        {
            "visited_on": today().isoformat(),
            "reached": True,
            "understood_cover": True,
            "signed_personally": False,
        },
    )
    complaint = await api.post(
        f"{CLIENTS}/{visited['id']}/complaints",
        json={"summary": "说年化5%保证收益", "category": "misleading_sales", "policy_id": policy["id"]},
        headers=people.agent.headers,
    )
    assert complaint.status_code == 201, complaint.text

    withdrawing = await create_client(api, people.agent, name="孙俪")
    open_work = await create_application(api, people.agent, withdrawing["id"], long_cover["id"])
    check = await api.get(
        f"{CLIENTS}/{withdrawing['id']}/consents/check",
        params={"purpose": "sharing_with_insurer"},
        headers=people.agent.headers,
    )
    withdrawn = await api.post(
        f"{CLIENTS}/{withdrawing['id']}/consents/{check.json()['consent_id']}/withdraw",
        json={},
        headers=people.agent.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    return {
        "proposal": proposal,
        "unrecorded": unrecorded,
        "policy": policy,
        "complaint": complaint.json(),
        "open_work": open_work,
    }


class TestTheView:
    async def test_a_lead_reads_the_teams_findings_per_agent(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        made = await _findings_of_team_north(api, people)
        response = await api.get(VIEW, headers=people.lead.headers)
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["scope"] == "team"
        assert view["partial"] is False
        [agent] = view["agents"]
        assert agent["agent_id"] == str(people.agent.user_id)
        [override] = agent["plan_overrides"]
        assert override["proposal_id"] == made["proposal"]["id"]
        assert override["choices"][0]["reason"]
        assert [m["application_id"] for m in agent["missing_traceability"]] == [made["unrecorded"]["id"]]
        [visit] = agent["return_visits"]
        assert visit["policy_id"] == made["policy"]["id"]
        assert visit["outcome"] == "failed"
        [complaint] = agent["misleading_sales_complaints"]
        assert complaint["complaint_id"] == made["complaint"]["id"]
        [hold] = agent["consent_withdrawals_with_open_work"]
        assert hold["application_id"] == made["open_work"]["id"]
        assert hold["purpose"] == "sharing_with_insurer"

    async def test_an_admin_reads_everyone(self, api: httpx.AsyncClient, people: People) -> None:
        await _findings_of_team_north(api, people)
        view = (await api.get(VIEW, headers=people.admin.headers)).json()
        assert view["scope"] == "all"
        assert {a["agent_id"] for a in view["agents"]} == {
            str(people.agent.user_id),
            str(people.outsider.user_id),
        }

    async def test_an_agent_is_refused(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(VIEW, headers=people.agent.headers), 403)

    async def test_as_csv_one_row_per_finding(self, api: httpx.AsyncClient, people: People) -> None:
        await _findings_of_team_north(api, people)
        response = await api.get(VIEW, headers={**people.lead.headers, "Accept": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert sorted(r["finding"] for r in rows) == [
            "consent_withdrawals_with_open_work",
            "misleading_sales_complaints",
            "missing_traceability",
            "plan_overrides",
            "return_visits",
        ]
        assert {r["agent_id"] for r in rows} == {str(people.agent.user_id)}

    async def test_a_bad_period_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        for params in ({"from": "2026-13-01"}, {"from": today().isoformat(), "to": "2020-01-01"}):
            assert_problem(await api.get(VIEW, params=params, headers=people.lead.headers), 422)

    async def test_a_service_down_leaves_a_partial_view(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await _findings_of_team_north(api, people)
        stack.mesh.down.add("clients.internal")
        view = (await api.get(VIEW, headers=people.lead.headers)).json()
        assert view["partial"] is True
        assert view["agents"][0]["misleading_sales_complaints"] == []
        assert view["agents"][0]["plan_overrides"]

    async def test_a_formula_in_a_reason_never_starts_a_cell(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        annuity = await create_product(api, people.admin, **participating(exclusions=[]))
        client = await create_client(api, people.agent)
        item = {
            "product_id": annuity["id"],
            "sum_insured": "1.00",
            "annual_premium": "100.00",
            "payment_years": 10,
        }
        proposal = await api.post(
            PROPOSALS, json={"client_id": client["id"], "items": [item]}, headers=people.agent.headers
        )
        finding = proposal.json()["revisions"][0]["findings"][0]
        choice = await api.post(
            f"{PROPOSALS}/{proposal.json()['id']}/informed-choices",
            json={
                "revision": 1,
                "finding_code": finding["code"],
                "item_id": finding["item_id"],
                "reason": '=HYPERLINK("http://x","y")',
                "channel": "remote",
            },
            headers=people.agent.headers,
        )
        assert choice.status_code == 201, choice.text
        await accept(api, people.agent, choice.json())
        response = await api.get(VIEW, headers={**people.lead.headers, "Accept": "text/csv"})
        [row] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert '=HYPERLINK("http://x","y")' in row["detail"]
        # The reason is never a cell's start, and every cell passes through crmkit.csv: no formula.
        assert not [value for value in row.values() if value[:1] in ("=", "+", "-", "@")]
