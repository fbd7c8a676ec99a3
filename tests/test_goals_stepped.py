"""Stepped goals (issue 19 item 2; manual 七.3): set by the agent, approved or adjusted by the team
lead, a yearly goal broken into months in one call; every bad input a 4xx and nothing stored."""

from __future__ import annotations

import asyncio

import httpx

from tests.clients_support import assert_problem
from tests.conftest import People, Stack
from tests.performance_support import GOALS, PERFORMANCE, approve, count_goals, set_goal

YEARLY = {
    "year": 2026,
    "effective_clients": 36,
    "closed_deals": 24,
    "first_year_premium": "240000.00",
    "calls": 600,
}


class TestSettingAndApproving:
    async def test_the_agent_proposes_and_the_team_lead_approves(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, year=2026, month=11, effective_clients=3, closed_deals=2)
        assert goal["status"] == "proposed"
        assert goal["agent_id"] == str(people.agent.user_id)
        assert goal["team_id"] == str(people.north_team_id)
        assert goal["month"] == 11
        approved = await approve(api, people.lead, goal["id"])
        assert approved["status"] == "approved"
        assert approved["approved_by"] == str(people.lead.user_id)

    async def test_the_team_lead_adjusts_while_approving(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, year=2026, month=11, effective_clients=2, closed_deals=1)
        adjusted = await approve(api, people.lead, goal["id"], effective_clients=3, closed_deals=2)
        assert adjusted["status"] == "adjusted"
        assert (adjusted["effective_clients"], adjusted["closed_deals"]) == (3, 2)

    async def test_a_team_lead_sets_an_agents_goal_approved(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        goal = await set_goal(api, people.lead, agent_id=str(people.colleague.user_id), **YEARLY)
        assert goal["status"] == "approved"
        assert goal["month"] is None

    async def test_goal_changes_are_published_as_events(self, api: httpx.AsyncClient, people: People) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        await approve(api, people.lead, goal["id"], calls=700)
        events: list[tuple[str, str]] = []
        for _ in range(100):  # the feed waits behind transactions still open on the server
            response = await api.get(f"{PERFORMANCE}/events", headers=people.admin.headers)
            assert response.status_code == 200, response.text
            events = [(e["type"], e["resource"]["id"]) for e in response.json()["items"]]
            if len(events) == 2:
                break
            await asyncio.sleep(0.05)
        assert events == [("goal.set", goal["id"]), ("goal.adjusted", goal["id"])]

    async def test_goals_are_scoped(self, api: httpx.AsyncClient, people: People) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        await set_goal(api, people.outsider, **YEARLY)
        mine = (await api.get(GOALS, headers=people.agent.headers)).json()["items"]
        team = (await api.get(GOALS, headers=people.lead.headers)).json()["items"]
        every = (await api.get(GOALS, headers=people.admin.headers)).json()["items"]
        assert [g["id"] for g in mine] == [goal["id"]]
        assert [g["id"] for g in team] == [goal["id"]]
        assert len(every) == 2
        response = await api.get(f"{GOALS}/{goal['id']}", headers=people.outsider.headers)
        assert_problem(response, 404)


class TestChanging:
    async def test_the_agent_revises_a_proposed_goal_and_the_lead_adjusts_it(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        path = f"{GOALS}/{goal['id']}"
        revised = await api.patch(
            path, json={"calls": 480}, headers={**people.agent.headers, "If-Match": 'W/"1"'}
        )
        assert revised.status_code == 200, revised.text
        assert (revised.json()["calls"], revised.json()["status"]) == (480, "proposed")
        adjusted = await api.patch(
            path, json={"calls": 500}, headers={**people.lead.headers, "If-Match": 'W/"2"'}
        )
        assert adjusted.status_code == 200, adjusted.text
        assert (adjusted.json()["status"], adjusted.json()["approved_by"]) == (
            "adjusted",
            str(people.lead.user_id),
        )

    async def test_a_change_without_if_match_is_428_and_a_stale_one_412(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        path = f"{GOALS}/{goal['id']}"
        assert_problem(await api.patch(path, json={"calls": 1}, headers=people.agent.headers), 428)
        stale = {**people.agent.headers, "If-Match": 'W/"7"'}
        assert_problem(await api.patch(path, json={"calls": 1}, headers=stale), 412)
        assert [r["calls"] for r in await stack.fetch("SELECT calls FROM performance.goals")] == [600]


class TestBreakdown:
    async def test_even_split_follows_the_manuals_example(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        response = await api.post(f"{GOALS}/{goal['id']}/breakdown", headers=people.agent.headers)
        assert response.status_code == 201, response.text
        months = response.json()["items"]
        assert [m["month"] for m in months] == list(range(1, 13))
        assert {(m["effective_clients"], m["closed_deals"]) for m in months} == {(3, 2)}
        assert {m["first_year_premium"] for m in months} == {"20000.00"}
        assert sum(m["calls"] for m in months) == 600
        assert {m["status"] for m in months} == {"proposed"}

    async def test_a_remainder_goes_to_the_first_months(self, api: httpx.AsyncClient, people: People) -> None:
        goal = await set_goal(api, people.agent, year=2026, effective_clients=40, first_year_premium="100.00")
        response = await api.post(f"{GOALS}/{goal['id']}/breakdown", headers=people.agent.headers)
        months = response.json()["items"]
        assert [m["effective_clients"] for m in months] == [4] * 4 + [3] * 8
        assert [m["first_year_premium"] for m in months] == ["8.34"] * 4 + ["8.33"] * 8

    async def test_given_months_that_add_up(self, api: httpx.AsyncClient, people: People) -> None:
        goal = await set_goal(api, people.agent, year=2026, effective_clients=36, closed_deals=24)
        months = [
            {"month": m, "effective_clients": 6 if m == 12 else 3 - (m == 1) * 3, "closed_deals": 2}
            for m in range(1, 13)
        ]
        response = await api.post(
            f"{GOALS}/{goal['id']}/breakdown", json={"months": months}, headers=people.agent.headers
        )
        assert response.status_code == 201, response.text
        assert [m["effective_clients"] for m in response.json()["items"]] == [0] + [3] * 10 + [6]


class TestBadInput:
    async def test_a_negative_goal_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        for field, value in (
            ("effective_clients", -1),
            ("closed_deals", -3),
            ("first_year_premium", "-1.00"),
            ("calls", -1),
        ):
            response = await api.post(GOALS, json={"year": 2026, field: value}, headers=people.agent.headers)
            assert_problem(response, 422, field=field)
        assert await count_goals(stack) == 0

    async def test_a_breakdown_that_does_not_add_up_is_422_naming_the_difference(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, year=2026, effective_clients=36, closed_deals=24)
        months = [{"month": m, "effective_clients": 2, "closed_deals": 2} for m in range(1, 13)]
        response = await api.post(
            f"{GOALS}/{goal['id']}/breakdown", json={"months": months}, headers=people.agent.headers
        )
        problem = assert_problem(response, 422, field="months.effective_clients")
        assert "add up to 24, the yearly goal is 36: 12 short" in problem["detail"]
        assert await count_goals(stack) == 1

    async def test_a_breakdown_missing_a_month_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, year=2026, effective_clients=12)
        months = [{"month": 1, "effective_clients": 1}] * 12
        response = await api.post(
            f"{GOALS}/{goal['id']}/breakdown", json={"months": months}, headers=people.agent.headers
        )
        assert_problem(response, 422)
        assert await count_goals(stack) == 1

    async def test_breaking_down_twice_is_409(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        assert (
            await api.post(f"{GOALS}/{goal['id']}/breakdown", headers=people.agent.headers)
        ).status_code == 201
        response = await api.post(f"{GOALS}/{goal['id']}/breakdown", headers=people.agent.headers)
        assert_problem(response, 409)
        assert await count_goals(stack) == 13

    async def test_an_agent_approving_their_own_goal_is_403_and_nothing_changes(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        response = await api.post(f"{GOALS}/{goal['id']}/approve", headers=people.agent.headers)
        assert_problem(response, 403)
        rows = await stack.fetch("SELECT status, approved_by, version FROM performance.goals")
        assert [tuple(r) for r in rows] == [("proposed", None, 1)]

    async def test_a_team_lead_approving_their_own_goal_is_403(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.lead, **YEARLY)
        assert_problem(await api.post(f"{GOALS}/{goal['id']}/approve", headers=people.lead.headers), 403)
        assert [r["status"] for r in await stack.fetch("SELECT status FROM performance.goals")] == [
            "proposed"
        ]

    async def test_another_teams_goal_is_404_to_a_team_lead(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.outsider, **YEARLY)
        assert_problem(await api.post(f"{GOALS}/{goal['id']}/approve", headers=people.lead.headers), 404)
        assert [r["status"] for r in await stack.fetch("SELECT status FROM performance.goals")] == [
            "proposed"
        ]

    async def test_a_goal_for_an_agent_outside_scope_is_404(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        for person, target in ((people.lead, people.outsider), (people.agent, people.colleague)):
            response = await api.post(
                GOALS, json={**YEARLY, "agent_id": str(target.user_id)}, headers=person.headers
            )
            assert_problem(response, 404)
        assert await count_goals(stack) == 0

    async def test_a_second_goal_for_the_same_period_is_409(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await set_goal(api, people.agent, **YEARLY)
        assert_problem(await api.post(GOALS, json=YEARLY, headers=people.agent.headers), 409)
        assert await count_goals(stack) == 1

    async def test_a_month_out_of_range_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        for month in (0, 13):
            response = await api.post(
                GOALS, json={"year": 2026, "month": month}, headers=people.agent.headers
            )
            assert_problem(response, 422, field="month")
        assert await count_goals(stack) == 0

    async def test_an_agent_cannot_change_an_approved_goal(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        goal = await set_goal(api, people.agent, **YEARLY)
        approved = await approve(api, people.lead, goal["id"])
        response = await api.patch(
            f"{GOALS}/{goal['id']}",
            json={"calls": 1},
            headers={**people.agent.headers, "If-Match": f'W/"{approved["version"]}"'},
        )
        assert_problem(response, 403)
        assert [r["calls"] for r in await stack.fetch("SELECT calls FROM performance.goals")] == [600]


async def test_a_flag_for_a_count_is_refused(api: httpx.AsyncClient, people: People, stack: Stack) -> None:
    """Found by fuzzing: `calls: false` was read as 0."""
    response = await api.post(GOALS, json={"year": 2026, "calls": False}, headers=people.agent.headers)
    assert_problem(response, 422)
    assert await count_goals(stack) == 0
