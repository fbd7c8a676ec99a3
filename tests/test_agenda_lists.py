"""Each service's part of the agenda in one call (`agenda-lists`): the same pages as its own work
lists, in the caller's scope; the gateway's agenda makes one call a service with them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import People, Person, Stack
from tests.views_support import assert_problem, seed_day

# (combined endpoint and its parameters) → {its key: (the separate list, its parameters)}
PARTS: dict[str, tuple[dict[str, Any], dict[str, tuple[str, dict[str, Any]]]]] = {
    "/api/v1/clients/agenda-lists": (
        {"within_days": 7},
        {
            "appointments": ("/api/v1/clients/appointments", {}),
            "follow_ups": ("/api/v1/clients/follow-ups", {}),
            "upcoming": ("/api/v1/clients/milestones/upcoming", {"within_days": 7}),
        },
    ),
    "/api/v1/policies/agenda-lists": (
        {"within_days": 7},
        {
            "requirements_due": ("/api/v1/policies/worklists/requirements-due", {"within_days": 7}),
            "cooling_off_ending": ("/api/v1/policies/worklists/cooling-off-ending", {"within_days": 7}),
            "return_visits_pending": ("/api/v1/policies/worklists/return-visits-pending", {}),
            "premiums_due": ("/api/v1/policies/worklists/premiums-due", {"within_days": 7}),
            "collection": ("/api/v1/policies/worklists/collection", {}),
            "renewals_due": ("/api/v1/policies/worklists/renewals-due", {}),
            "lapsed": ("/api/v1/policies/worklists/lapsed", {}),
            "reviews_due": ("/api/v1/policies/reviews/due", {"within_days": 7}),
        },
    ),
    "/api/v1/claims/agenda-lists": (
        {},
        {
            "updates_due": ("/api/v1/claims/updates-due", {}),
            "decisions_overdue": ("/api/v1/claims/decisions-overdue", {}),
        },
    ),
}


async def items(
    api: httpx.AsyncClient, person: Person, path: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await api.get(path, params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


class TestAgendaLists:
    async def test_each_part_is_the_first_page_of_the_services_own_lists(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.agent)

        for path, (params, lists) in PARTS.items():
            response = await api.get(path, params=params, headers=people.agent.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == set(lists), path
            for key, (separate, separate_params) in lists.items():
                expected = await items(api, people.agent, separate, separate_params)
                assert body[key]["items"] == expected, (path, key)
            assert any(body[key]["items"] for key in lists), f"{path}: the seeded day shows nothing"

    async def test_are_scoped_to_the_caller(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.agent)

        for path, (params, lists) in PARTS.items():
            body = (await api.get(path, params=params, headers=people.outsider.headers)).json()
            assert all(body[key]["items"] == [] for key in lists), path

    async def test_operations_staff_get_403(self, api: httpx.AsyncClient, people: People) -> None:
        for path in PARTS:
            assert_problem(await api.get(path, headers=people.ops.headers), 403)
