"""Work lists for the agenda: requirements due, cooling-off ending, return visits, premiums due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import People, Person
from tests.policies_support import (
    APPLICATIONS,
    BASE,
    WORKLISTS,
    act,
    assert_problem,
    create_application,
    create_client,
    create_product,
    issue_policy,
    today,
)


async def _underwriting(api: httpx.AsyncClient, people: People, person: Person) -> dict[str, Any]:
    client = await create_client(api, person)
    product = await create_product(api, people.admin)
    application = await create_application(api, person, client["id"], product["id"])
    path = f"{APPLICATIONS}/{application['id']}"
    app = await act(api, person, f"{path}/submit", application["version"])
    return await act(api, person, f"{path}/underwriting", app["version"])


async def _require(api: httpx.AsyncClient, person: Person, app: dict[str, Any], days: int) -> dict[str, Any]:
    due = (today() + timedelta(days=days)).isoformat()
    return await act(
        api,
        person,
        f"{APPLICATIONS}/{app['id']}/requirements",
        app["version"],
        {"kind": "other", "due_on": due},
    )


class TestRequirementsDue:
    async def test_within_n_days_in_the_callers_scope(self, api: httpx.AsyncClient, people: People) -> None:
        mine = await _underwriting(api, people, people.agent)
        mine = await _require(api, people.agent, mine, 2)
        mine = await _require(api, people.agent, mine, 20)
        theirs = await _underwriting(api, people, people.colleague)
        await _require(api, people.colleague, theirs, 1)

        response = await api.get(
            f"{WORKLISTS}/requirements-due", params={"within_days": 7}, headers=people.agent.headers
        )
        items = response.json()["items"]
        assert [(i["application_id"], i["due_on"]) for i in items] == [
            (mine["id"], (today() + timedelta(days=2)).isoformat())
        ]
        assert items[0]["overdue"] is False
        team = await api.get(
            f"{WORKLISTS}/requirements-due", params={"within_days": 7}, headers=people.lead.headers
        )
        assert len(team.json()["items"]) == 2

    async def test_pages_by_due_date(self, api: httpx.AsyncClient, people: People) -> None:
        app = await _underwriting(api, people, people.agent)
        for days in (0, 1, 2):
            app = await _require(api, people.agent, app, days)
        first = (
            await api.get(f"{WORKLISTS}/requirements-due", params={"limit": 2}, headers=people.agent.headers)
        ).json()
        second = (
            await api.get(
                f"{WORKLISTS}/requirements-due",
                params={"limit": 2, "cursor": first["next_cursor"]},
                headers=people.agent.headers,
            )
        ).json()
        dates = [i["due_on"] for i in first["items"] + second["items"]]
        assert dates == [(today() + timedelta(days=d)).isoformat() for d in (0, 1, 2)]
        assert second["next_cursor"] is None

    async def test_bad_window_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            f"{WORKLISTS}/requirements-due", params={"within_days": -1}, headers=people.agent.headers
        )
        assert_problem(response, 422, field="query.within_days")


class TestPolicyWorkLists:
    async def test_cooling_off_and_return_visits(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        receipted = await issue_policy(api, people.agent, client["id"], admin=people.admin, in_force=False)
        signed = await act(
            api,
            people.agent,
            f"{BASE}/{receipted['id']}/receipt",
            receipted["version"],
            {"signed_on": today().isoformat()},
        )
        done = await issue_policy(api, people.agent, client["id"], admin=people.admin)

        pending = await api.get(f"{WORKLISTS}/return-visits-pending", headers=people.agent.headers)
        assert [p["policy_id"] for p in pending.json()["items"]] == [signed["id"]]

        ending = await api.get(
            f"{WORKLISTS}/cooling-off-ending", params={"within_days": 15}, headers=people.agent.headers
        )
        by_id = {p["policy_id"]: p for p in ending.json()["items"]}
        assert by_id[signed["id"]]["days_left"] == 15
        assert done["id"] in by_id
        narrow = await api.get(
            f"{WORKLISTS}/cooling-off-ending", params={"within_days": 3}, headers=people.agent.headers
        )
        assert narrow.json()["items"] == []
        assert (await api.get(f"{WORKLISTS}/return-visits-pending", headers=people.colleague.headers)).json()[
            "items"
        ] == []

    async def test_premiums_due_include_overdue_ones(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        year_ago = today() - timedelta(days=365)
        policy = await issue_policy(
            api, people.agent, client["id"], admin=people.admin, effective_on=year_ago
        )
        response = await api.get(
            f"{WORKLISTS}/premiums-due", params={"within_days": 30}, headers=people.agent.headers
        )
        [due] = response.json()["items"]
        assert due["policy_id"] == policy["id"]
        assert due["instalment"] == 2
        assert due["amount"] == "8000.00"
        assert due["overdue"] is (due["due_on"] < today().isoformat())
