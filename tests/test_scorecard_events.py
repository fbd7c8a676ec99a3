"""Scorecards counted from the events the services publish (issue 19 item 3): actual against
goal, the 12-month trend, the funnel, referrals; scoped; JSON and CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Person, Stack
from tests.performance_support import (
    PERFORMANCE,
    approve,
    closed_deal,
    effective_client,
    set_goal,
    sync,
    this_month,
    today,
)

SCORECARDS = f"{PERFORMANCE}/scorecards"


async def scorecard(api: httpx.AsyncClient, person: Person, agent: Person, **params: Any) -> dict[str, Any]:
    response = await api.get(f"{SCORECARDS}/agents/{agent.user_id}", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    card: dict[str, Any] = response.json()
    return card


class TestDefinitions:
    async def test_the_definitions_are_served_as_data(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(f"{PERFORMANCE}/definitions", headers=people.agent.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "needs analysis" in body["effective_client"]["definition"]
        assert "application.first_premium_paid" in body["closed_deal"]["events"]
        assert [s["key"] for s in body["funnel"]] == [
            "leads",
            "tiered",
            "needs_analysed",
            "proposals",
            "applications",
            "issued",
            "in_force",
        ]
        assert body["time_zone"] == "Asia/Shanghai"


class TestCountedFromEvents:
    async def test_an_effective_client_and_a_closed_deal_against_the_goal(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        year, month = (int(x) for x in this_month().split("-"))
        goal = await set_goal(api, people.agent, year=year, month=month, effective_clients=2, closed_deals=2)
        await approve(api, people.lead, goal["id"])
        client = await effective_client(api, people.agent)
        await create_client(api, people.agent, name="Li Lei", channel="cold")
        await closed_deal(api, people.agent, people.admin, client["id"], premium="12000.00")
        await sync(stack)

        card = await scorecard(api, people.agent, people.agent)
        assert card["month"] == this_month()
        assert card["actual"]["effective_clients"] == 1
        assert card["actual"]["closed_deals"] == 1
        assert card["actual"]["first_year_premium"] == "12000.00"
        assert card["goal"]["effective_clients"] == 2
        assert card["goal_status"] == "approved"
        assert card["progress"]["effective_clients"] == 0.5
        assert card["progress"]["closed_deals"] == 0.5
        assert card["progress"]["calls"] is None  # no target
        funnel = {s["stage"]: s["count"] for s in card["funnel"]}
        assert funnel == {
            "leads": 2,
            "tiered": 1,
            "needs_analysed": 1,
            "proposals": 0,
            "applications": 1,
            "issued": 0,
            "in_force": 0,
        }
        channels = {c["channel"]: c["count"] for c in card["leads_by_channel"]}
        assert channels == {"warm_market": 1, "referral": 0, "cold": 1, "online": 0}
        assert len(card["trend"]) == 12
        assert card["trend"][-1]["month"] == this_month()
        assert card["trend"][-1]["actual"]["closed_deals"] == 1

    async def test_reading_the_feed_twice_counts_nothing_twice(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await effective_client(api, people.agent)
        await sync(stack)
        await sync(stack)
        card = await scorecard(api, people.agent, people.agent)
        assert card["actual"]["effective_clients"] == 1
        assert sum(s["count"] for s in card["funnel"] if s["stage"] == "leads") == 1

    async def test_a_tier_c_client_is_not_effective(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        scores = {"need_score": 1, "capacity_score": 1, "decision_score": 1}
        headers = {**people.agent.headers, "If-Match": 'W/"0"'}
        assert (
            await api.put(f"/api/v1/clients/{client['id']}/tiering", json=scores, headers=headers)
        ).status_code == 200
        body = {"client_annual_income": "100000.00"}
        assert (
            await api.put(f"/api/v1/clients/{client['id']}/needs-assessment", json=body, headers=headers)
        ).status_code == 200
        await sync(stack)
        card = await scorecard(api, people.agent, people.agent)
        assert card["actual"]["effective_clients"] == 0
        assert {s["stage"]: s["count"] for s in card["funnel"]}["tiered"] == 1

    async def test_a_deal_counts_in_the_month_the_first_premium_was_paid(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        last_month = today().replace(day=1) - timedelta(days=1)
        await closed_deal(api, people.agent, people.admin, client["id"], paid_on=last_month)
        await sync(stack)
        card = await scorecard(api, people.agent, people.agent)
        assert card["actual"]["closed_deals"] == 0
        assert card["trend"][-2]["month"] == last_month.strftime("%Y-%m")
        assert card["trend"][-2]["actual"]["closed_deals"] == 1

    async def test_a_withdrawn_application_takes_the_deal_back(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        approved = await closed_deal(api, people.agent, people.admin, client["id"])
        await sync(stack)
        assert (await scorecard(api, people.agent, people.agent))["actual"]["closed_deals"] == 1
        current = (
            await api.get(f"/api/v1/policies/applications/{approved['id']}", headers=people.agent.headers)
        ).json()
        response = await api.post(
            f"/api/v1/policies/applications/{approved['id']}/withdraw",
            json={"reason": "changed their mind"},
            headers={**people.agent.headers, "If-Match": f'W/"{current["version"]}"'},
        )
        assert response.status_code == 200, response.text
        await sync(stack)
        card = await scorecard(api, people.agent, people.agent)
        assert card["actual"]["closed_deals"] == 0
        assert card["actual"]["first_year_premium"] == "0.00"

    async def test_after_a_reassignment_the_new_owner_gets_what_follows(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        moved = await api.patch(
            f"/api/v1/clients/{client['id']}",
            json={"owner_agent_id": str(people.colleague.user_id)},
            headers={**people.lead.headers, "If-Match": 'W/"1"'},
        )
        assert moved.status_code == 200, moved.text
        scores = {"need_score": 5, "capacity_score": 5, "decision_score": 5}
        headers = {**people.colleague.headers, "If-Match": 'W/"0"'}
        assert (
            await api.put(f"/api/v1/clients/{client['id']}/tiering", json=scores, headers=headers)
        ).status_code == 200
        needs = {"client_annual_income": "300000.00"}
        response = await api.put(
            f"/api/v1/clients/{client['id']}/needs-assessment", json=needs, headers=headers
        )
        assert response.status_code == 200, response.text
        await sync(stack)
        first_owner = await scorecard(api, people.lead, people.agent)
        new_owner = await scorecard(api, people.lead, people.colleague)
        assert {s["stage"]: s["count"] for s in first_owner["funnel"]}["leads"] == 1
        assert first_owner["actual"]["effective_clients"] == 0
        assert new_owner["actual"]["effective_clients"] == 1

    async def test_activities_count_by_kind(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        day = today().isoformat()
        for kind in ("appointment", "visit", "call", "call", "note"):
            body = {
                "kind": kind,
                "at": f"{day}T00:00:00",  # today, and already past at any hour (a visit is recorded after it)
                "place": "office",
                "purpose": "review",
                "outcome": "ok",
            }
            response = await api.post(
                f"/api/v1/clients/{client['id']}/interactions", json=body, headers=people.agent.headers
            )
            assert response.status_code == 201, response.text
        await sync(stack)
        actual = (await scorecard(api, people.agent, people.agent))["actual"]
        assert (actual["appointments"], actual["visits"], actual["calls"]) == (1, 1, 2)

    async def test_referral_share_of_business(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        referrer = await create_client(api, people.agent)
        referred = await create_client(
            api, people.agent, name="Zhao Min", channel="referral", referred_by_client_id=referrer["id"]
        )
        await closed_deal(api, people.agent, people.admin, referred["id"], premium="3000.00")
        await closed_deal(api, people.agent, people.admin, referrer["id"], premium="9000.00")
        await sync(stack)
        refs = (await scorecard(api, people.agent, people.agent))["referrals"]
        assert refs == {
            "leads": 1,
            "closed_deals": 1,
            "first_year_premium": "3000.00",
            "share_of_business": 0.25,
        }


class TestScope:
    async def test_the_team_lead_sees_each_agent_and_the_total(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await effective_client(api, people.agent)
        await effective_client(api, people.colleague)
        await effective_client(api, people.colleague)
        await effective_client(api, people.outsider)
        await sync(stack)
        response = await api.get(f"{SCORECARDS}/team", headers=people.lead.headers)
        assert response.status_code == 200, response.text
        team = response.json()
        assert team["scope"] == "team"
        rows = {r["agent_id"]: r["actual"]["effective_clients"] for r in team["agents"]}
        assert rows == {str(people.agent.user_id): 1, str(people.colleague.user_id): 2}
        assert team["total"]["actual"]["effective_clients"] == 3
        assert team["trend"][-1]["actual"]["effective_clients"] == 3
        colleague = await scorecard(api, people.lead, people.colleague)
        assert colleague["actual"]["effective_clients"] == 2

    async def test_the_admin_sees_every_team(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await effective_client(api, people.agent)
        await effective_client(api, people.outsider)
        await sync(stack)
        every = (await api.get(f"{SCORECARDS}/team", headers=people.admin.headers)).json()
        assert every["scope"] == "all"
        assert every["total"]["actual"]["effective_clients"] == 2
        south = (
            await api.get(
                f"{SCORECARDS}/team",
                params={"team_id": str(people.south_team_id)},
                headers=people.admin.headers,
            )
        ).json()
        assert [r["agent_id"] for r in south["agents"]] == [str(people.outsider.user_id)]
        assert (await scorecard(api, people.admin, people.outsider))["actual"]["effective_clients"] == 1

    async def test_a_scorecard_outside_the_callers_scope_is_404(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for caller, target in (
            (people.agent, people.colleague),
            (people.lead, people.outsider),
            (people.outsider, people.agent),
        ):
            response = await api.get(f"{SCORECARDS}/agents/{target.user_id}", headers=caller.headers)
            assert_problem(response, 404)
        response = await api.get(
            f"{SCORECARDS}/team", params={"team_id": str(people.south_team_id)}, headers=people.lead.headers
        )
        assert_problem(response, 404)
        assert_problem(await api.get(f"{SCORECARDS}/team", headers=people.agent.headers), 404)

    async def test_operations_staff_have_no_goals_or_scorecards(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        response = await api.post(f"{PERFORMANCE}/goals", json={"year": 2026}, headers=people.ops.headers)
        assert_problem(response, 403)
        assert_problem(
            await api.get(f"{SCORECARDS}/agents/{people.ops.user_id}", headers=people.ops.headers), 403
        )
        assert await stack.fetch("SELECT 1 FROM performance.goals") == []

    async def test_a_bad_month_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        for month in ("2026-13", "2026-1", "yesterday"):
            response = await api.get(
                f"{SCORECARDS}/agents/{people.agent.user_id}",
                params={"month": month},
                headers=people.agent.headers,
            )
            assert_problem(response, 422, field="query.month")


class TestCsv:
    async def test_the_agent_scorecard_as_csv(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        year, month = (int(x) for x in this_month().split("-"))
        await set_goal(api, people.agent, year=year, month=month, effective_clients=2)
        await effective_client(api, people.agent)
        await sync(stack)
        response = await api.get(
            f"{SCORECARDS}/agents/{people.agent.user_id}",
            params={"format": "csv"},
            headers=people.agent.headers,
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        lines = response.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("month,agent_id,actual_effective_clients")
        assert len(lines) == 13
        last = lines[-1].split(",")
        assert last[0] == this_month()
        assert last[2] == "1", lines  # actual effective clients
        assert last[8] == "2"  # goal

    async def test_the_team_scorecard_as_csv_ends_with_the_total(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await effective_client(api, people.agent)
        await effective_client(api, people.colleague)
        await sync(stack)
        response = await api.get(f"{SCORECARDS}/team", params={"format": "csv"}, headers=people.lead.headers)
        assert response.status_code == 200, response.text
        lines = response.content.decode("utf-8-sig").splitlines()
        assert len(lines) == 4
        assert lines[-1].split(",")[1:3] == ["total", "2"]
