"""Search: name prefix, exact phone or resident ID (through the keyed hash), tier, channel and
follow-up due, all combinable with each other and with cursor pages and sorts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.clients_support import (
    CLIENTS,
    assert_problem,
    create_client,
    if_match,
    resident_id,
    wrong_check_digit,
)
from tests.conftest import People, Person
from tests.test_clients_tiering import assess, scores

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def names(api: httpx.AsyncClient, person: Person, **params: Any) -> list[str]:
    """Every page of the search, in order."""
    found: list[str] = []
    query = {**params, "limit": 2}
    while True:
        response = await api.get(CLIENTS, params=query, headers=person.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found += [item["name"] for item in page["items"]]
        if page["next_cursor"] is None:
            return found
        query["cursor"] = page["next_cursor"]


async def follow_up(api: httpx.AsyncClient, person: Person, client_id: str, on: date) -> None:
    month_ago = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=30)
    response = await api.post(
        f"{CLIENTS}/{client_id}/interactions",
        json={"kind": "note", "at": month_ago.isoformat(), "next_follow_up_on": on.isoformat()},
        headers=person.headers,
    )
    assert response.status_code == 201, response.text


@pytest.fixture
async def book(api: httpx.AsyncClient, people: People) -> dict[str, dict[str, Any]]:
    """Five clients of one agent across tiers, channels and follow-up dates."""
    made: dict[str, dict[str, Any]] = {}
    specs = (
        ("Zhang Wei", "warm_market", (5, 5, 5), -1, resident_id("19850612")),
        ("Zhang Min", "online", (3, 3, 3), 0, None),
        ("Zhao Lei", "warm_market", (5, 5, 5), 10, None),
        ("Zhang Hua", "warm_market", (1, 1, 1), None, None),
        ("Li Na", "cold", (5, 5, 5), -3, resident_id("19900101", sequence="246")),
    )
    for name, channel, tier_scores, due_in, number in specs:
        extra = {"resident_id": number} if number else {}
        made[name] = client = await create_client(api, people.agent, name=name, channel=channel, **extra)
        await assess(api, people.agent, client["id"], scores(*tier_scores))
        if due_in is not None:
            await follow_up(api, people.agent, client["id"], TODAY + timedelta(days=due_in))
    return made


class TestCombined:
    async def test_name_prefix_with_tier_and_channel(
        self, api: httpx.AsyncClient, people: People, book: dict[str, Any]
    ) -> None:
        assert await names(api, people.agent, name_prefix="zhang", tier="A", channel="warm_market") == [
            "Zhang Wei"
        ]
        assert await names(api, people.agent, name_prefix="Zh", channel="warm_market") == [
            "Zhang Hua",
            "Zhao Lei",
            "Zhang Wei",
        ]

    async def test_follow_up_due_soonest_first(
        self, api: httpx.AsyncClient, people: People, book: dict[str, Any]
    ) -> None:
        assert await names(api, people.agent, follow_up_due_by=TODAY.isoformat(), sort="follow_up") == [
            "Li Na",
            "Zhang Wei",
            "Zhang Min",
        ]
        assert await names(
            api, people.agent, follow_up_due_by=TODAY.isoformat(), tier="A", name_prefix="Z"
        ) == ["Zhang Wei"]

    async def test_sorted_by_follow_up_puts_no_plan_last(
        self, api: httpx.AsyncClient, people: People, book: dict[str, Any]
    ) -> None:
        assert await names(api, people.agent, sort="follow_up") == [
            "Li Na",
            "Zhang Wei",
            "Zhang Min",
            "Zhao Lei",
            "Zhang Hua",
        ]

    async def test_exact_resident_id_through_the_keyed_hash(
        self, api: httpx.AsyncClient, people: People, book: dict[str, Any]
    ) -> None:
        number = resident_id("19850612")
        assert await names(api, people.agent, resident_id=number) == ["Zhang Wei"]
        assert await names(api, people.agent, resident_id=number, tier="B") == []
        assert await names(api, people.outsider, resident_id=number) == []  # scope still applies

    async def test_tier_sort_with_a_channel_filter(
        self, api: httpx.AsyncClient, people: People, book: dict[str, Any]
    ) -> None:
        assert await names(api, people.agent, sort="tier", channel="warm_market") == [
            "Zhao Lei",
            "Zhang Wei",
            "Zhang Hua",
        ]


class TestRejectedSearch:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            pytest.param(
                {"resident_id": wrong_check_digit(resident_id())}, "query.resident_id", id="bad-checksum"
            ),
            pytest.param({"follow_up_due_by": "2027-02-30"}, "query.follow_up_due_by", id="no-such-date"),
            pytest.param({"sort": "random"}, "query.sort", id="unknown-sort"),
        ],
    )
    async def test_bad_search_is_422(
        self, api: httpx.AsyncClient, people: People, params: dict[str, Any], field: str
    ) -> None:
        assert_problem(await api.get(CLIENTS, params=params, headers=people.agent.headers), 422, field=field)

    async def test_a_cursor_of_one_sort_does_not_continue_another(
        self, api: httpx.AsyncClient, people: People, book: dict[str, Any]
    ) -> None:
        page = (
            await api.get(CLIENTS, params={"limit": 1, "sort": "tier"}, headers=people.agent.headers)
        ).json()
        response = await api.get(
            CLIENTS,
            params={"limit": 1, "sort": "recent", "cursor": page["next_cursor"]},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="cursor")

    async def test_derived_fields_cannot_be_set(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"next_follow_up_on": "2030-01-01"},
            headers=if_match(people.agent, 1),
        )
        assert_problem(response, 422, field="next_follow_up_on")
        read = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert (read.json()["next_follow_up_on"], read.json()["version"]) == (None, 1)
