"""Milestones (manual 五.3): birthdays from birth dates and family events, and the upcoming-dates
query — across the year end and for 29 February."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from crmkit.testing import StatementLog
from services.clients.milestones.window import month_days
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_actions,
    count_rows,
    create_client,
    if_match,
)
from tests.conftest import People, Person, Stack
from tests.test_clients_household import add_member

UPCOMING = f"{CLIENTS}/milestones/upcoming"


async def upcoming(api: httpx.AsyncClient, person: Person, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(UPCOMING, params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def every_page(api: httpx.AsyncClient, person: Person, **params: Any) -> list[dict[str, Any]]:
    """All the entries, page after page by ``next_cursor``."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.get(UPCOMING, params=query, headers=person.headers)
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the pages never ended")


def order_key(item: dict[str, Any]) -> tuple[str, str, str]:
    return (item["on"], item["kind"], item["milestone_id"] or item["family_member_id"] or item["client_id"])


async def add_milestone(
    api: httpx.AsyncClient, person: Person, client_id: str, **body: Any
) -> dict[str, Any]:
    response = await api.post(f"{CLIENTS}/{client_id}/milestones", json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


class TestWindow:
    def test_crosses_the_year_end(self) -> None:
        window = month_days(date(2026, 12, 30), 4)
        assert window[1231] == [date(2026, 12, 31)]
        assert window[101] == [date(2027, 1, 1)]
        assert window[103] == [date(2027, 1, 3)]

    def test_29_february_falls_on_the_28th_in_common_years_only(self) -> None:
        assert month_days(date(2027, 2, 27), 2)[229] == [date(2027, 2, 28)]
        leap = month_days(date(2028, 2, 27), 2)
        assert leap[229] == [date(2028, 2, 29)]
        assert leap[228] == [date(2028, 2, 28)]

    def test_a_window_of_a_whole_year_may_hold_a_day_twice(self) -> None:
        assert month_days(date(2027, 3, 1), 366)[301] == [date(2027, 3, 1), date(2028, 3, 1)]


class TestUpcoming:
    async def test_birthdays_across_the_year_end(self, api: httpx.AsyncClient, people: People) -> None:
        await create_client(api, people.agent, name="New Year", birth_date="1990-01-02")
        await create_client(api, people.agent, name="Christmas", birth_date="1985-12-29")
        await create_client(api, people.agent, name="Summer", birth_date="1985-07-01")

        items = await upcoming(api, people.agent, **{"from": "2026-12-28", "within_days": 7})

        assert [(i["person_name"], i["on"], i["days_away"], i["turning"]) for i in items] == [
            ("Christmas", "2026-12-29", 1, 41),
            ("New Year", "2027-01-02", 5, 37),
        ]
        assert items[0]["kind"] == "birthday"

    async def test_29_february_birthdays(self, api: httpx.AsyncClient, people: People) -> None:
        await create_client(api, people.agent, name="Leapling", birth_date="2000-02-29")
        common = await upcoming(api, people.agent, **{"from": "2027-02-25", "within_days": 7})
        leap = await upcoming(api, people.agent, **{"from": "2028-02-25", "within_days": 7})
        assert [(i["on"], i["turning"]) for i in common] == [("2027-02-28", 27)]
        assert [(i["on"], i["turning"]) for i in leap] == [("2028-02-29", 28)]

    async def test_family_birthdays_and_events(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="Zhang Wei")
        grandma = await add_member(
            api, people.agent, client["id"], relationship="parent", name="Grandma", birth_date="1950-03-05"
        )
        kid = await add_member(api, people.agent, client["id"], name="Kid", birth_date="2019-09-01")
        await add_milestone(
            api,
            people.agent,
            client["id"],
            kind="elder_birthday_banquet",
            title="Grandma's 80th",
            occurs_on="2030-03-06",
            family_member_id=grandma["id"],
        )
        await add_milestone(
            api,
            people.agent,
            client["id"],
            kind="school_entry",
            title="Primary school",
            occurs_on="2025-09-01",
            family_member_id=kid["id"],
        )
        await add_milestone(
            api,
            people.agent,
            client["id"],
            kind="custom",
            title="Wedding anniversary",
            occurs_on="2012-03-07",
            recurs_yearly=True,
        )

        items = await upcoming(api, people.agent, **{"from": "2030-03-04", "within_days": 7})

        assert [(i["on"], i["kind"], i["person_name"], i["title"]) for i in items] == [
            ("2030-03-05", "birthday", "Grandma", "Grandma's birthday"),
            ("2030-03-06", "elder_birthday_banquet", "Grandma", "Grandma's 80th"),
            ("2030-03-07", "custom", "Zhang Wei", "Wedding anniversary"),
        ]
        assert items[0]["turning"] == 80
        assert items[1]["milestone_id"] is not None
        assert "milestone.added" in await audit_actions(stack)

    async def test_a_yearly_event_starts_on_its_first_date(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        await add_milestone(
            api,
            people.agent,
            client["id"],
            kind="custom",
            title="Shop opening",
            occurs_on="2030-05-01",
            recurs_yearly=True,
        )
        assert await upcoming(api, people.agent, **{"from": "2029-04-30", "within_days": 3}) == []
        assert len(await upcoming(api, people.agent, **{"from": "2031-04-30", "within_days": 3})) == 1

    async def test_only_the_callers_scope_and_pages(self, api: httpx.AsyncClient, people: People) -> None:
        for name in ("A", "B", "C"):
            await create_client(api, people.agent, name=name, birth_date="1990-06-10")
        await create_client(api, people.outsider, name="Outsider", birth_date="1990-06-10")
        params: dict[str, Any] = {"from": "2030-06-09", "within_days": 2, "limit": 2}
        first = (await api.get(UPCOMING, params=params, headers=people.agent.headers)).json()
        rest = (
            await api.get(
                UPCOMING, params={**params, "cursor": first["next_cursor"]}, headers=people.agent.headers
            )
        ).json()
        assert sorted(i["person_name"] for i in first["items"] + rest["items"]) == ["A", "B", "C"]
        assert rest["next_cursor"] is None

    async def test_pages_follow_the_days_across_the_year_end(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for name, born in [
            ("Dec 29 a", "1985-12-29"),
            ("Dec 29 b", "1986-12-29"),
            ("Dec 31", "1980-12-31"),
            ("Jan 1", "1990-01-01"),
            ("Jan 2", "1991-01-02"),
            ("Jan 5", "1990-01-05"),
        ]:
            client = await create_client(api, people.agent, name=name, birth_date=born)
        await add_member(api, people.agent, client["id"], name="Grandpa", birth_date="1950-12-31")
        await add_milestone(
            api, people.agent, client["id"], kind="custom", title="Wedding", occurs_on="2010-12-31",
            recurs_yearly=True,
        )  # fmt: skip
        await add_milestone(
            api, people.agent, client["id"], kind="school_entry", title="School", occurs_on="2027-01-02"
        )
        window = {"from": "2026-12-28", "within_days": 7}

        whole = await upcoming(api, people.agent, **window, limit=200)

        assert sorted((i["on"], i["kind"], i["person_name"]) for i in whole) == [
            ("2026-12-29", "birthday", "Dec 29 a"),
            ("2026-12-29", "birthday", "Dec 29 b"),
            ("2026-12-31", "birthday", "Dec 31"),
            ("2026-12-31", "birthday", "Grandpa"),
            ("2026-12-31", "custom", "Jan 5"),
            ("2027-01-01", "birthday", "Jan 1"),
            ("2027-01-02", "birthday", "Jan 2"),
            ("2027-01-02", "school_entry", "Jan 5"),
        ]
        assert whole == sorted(whole, key=order_key)
        for limit in (1, 2, 3):
            assert await every_page(api, people.agent, **window, limit=limit) == whole, limit

    async def test_pages_through_29_february_in_a_common_year(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for name, born in [
            ("Leap a", "2000-02-29"),
            ("Leap b", "1996-02-29"),
            ("28th a", "1999-02-28"),
            ("28th b", "1998-02-28"),
            ("March", "1990-03-01"),
        ]:
            await create_client(api, people.agent, name=name, birth_date=born)
        window = {"from": "2027-02-27", "within_days": 2}

        whole = await upcoming(api, people.agent, **window, limit=200)

        assert [i["on"] for i in whole] == ["2027-02-28"] * 4 + ["2027-03-01"]
        assert whole == sorted(whole, key=order_key)  # the 28th's and the 29th's interleave by id
        assert await every_page(api, people.agent, **window, limit=1) == whole

    async def test_a_whole_year_pages_through_a_day_twice(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await create_client(api, people.agent, name="March", birth_date="1990-03-01")
        await create_client(api, people.agent, name="June", birth_date="1990-06-01")

        items = await every_page(api, people.agent, **{"from": "2027-03-01", "within_days": 366}, limit=1)

        assert [(i["on"], i["person_name"]) for i in items] == [
            ("2027-03-01", "March"),
            ("2027-06-01", "June"),
            ("2028-03-01", "March"),
        ]

    async def test_each_role_pages_its_scope_and_reads_a_page_not_the_window(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for person in (people.agent, people.agent, people.colleague, people.outsider):
            await create_client(api, person, birth_date="1990-06-10")
        window = {"from": "2030-06-09", "within_days": 2}

        counts = {}
        for role, person in {"agent": people.agent, "lead": people.lead, "admin": people.admin}.items():
            with StatementLog() as log:
                items = await every_page(api, person, **window, limit=1)
            counts[role] = len(items)
            births = [sql for sql, _ in log.statements if "birth_md" in sql and "SELECT" in sql]
            assert births, role
            assert all("LIMIT" in sql for sql in births), role

        assert counts == {"agent": 2, "lead": 3, "admin": 4}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            pytest.param({"within_days": -1}, "query.within_days", id="negative"),
            pytest.param({"within_days": 367}, "query.within_days", id="more-than-a-year"),
            pytest.param({"from": "2027-02-30"}, "query.from", id="30-february"),
            pytest.param({"cursor": "WyJ4Il0"}, "cursor", id="foreign-cursor"),
        ],
    )
    async def test_bad_query_is_422(
        self, api: httpx.AsyncClient, people: People, params: dict[str, Any], field: str
    ) -> None:
        assert_problem(await api.get(UPCOMING, params=params, headers=people.agent.headers), 422, field=field)


class TestMilestoneRecords:
    async def test_edit_and_remove(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        client = await create_client(api, people.agent)
        event = await add_milestone(
            api, people.agent, client["id"], kind="custom", title="x", occurs_on="2030-01-01"
        )
        path = f"{CLIENTS}/{client['id']}/milestones/{event['id']}"
        edited = await api.patch(path, json={"title": "Graduation"}, headers=if_match(people.agent, 1))
        assert edited.status_code == 200, edited.text
        assert edited.json()["title"] == "Graduation"
        listed = (await api.get(f"{CLIENTS}/{client['id']}/milestones", headers=people.agent.headers)).json()
        assert [m["title"] for m in listed["items"]] == ["Graduation"]
        assert (await api.delete(path, headers=if_match(people.agent, 2))).status_code == 204
        assert await count_rows(stack, "milestones") == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"occurs_on": "2027-02-30"}, "occurs_on", id="30-february"),
            pytest.param({"occurs_on": "2027-13-01"}, "occurs_on", id="month-13"),
            pytest.param({"kind": "birthday"}, "kind", id="birthdays-come-from-birth-dates"),
            pytest.param({"title": ""}, "title", id="no-title"),
        ],
    )
    async def test_bad_milestone_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/milestones",
            json={"kind": "custom", "title": "t", "occurs_on": "2027-01-01", **body},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "milestones") == 0

    async def test_a_family_member_of_another_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        other = await create_client(api, people.agent, name="Other")
        member = await add_member(api, people.agent, other["id"])
        response = await api.post(
            f"{CLIENTS}/{client['id']}/milestones",
            json={
                "kind": "custom",
                "title": "t",
                "occurs_on": "2027-01-01",
                "family_member_id": member["id"],
            },
            headers=people.agent.headers,
        )
        assert_problem(response, 404)
        assert await count_rows(stack, "milestones") == 0

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.outsider)
        event = await add_milestone(
            api, people.outsider, client["id"], kind="custom", title="x", occurs_on="2030-01-01"
        )
        base = f"{CLIENTS}/{client['id']}/milestones"
        headers = if_match(people.agent, 1)
        for response in (
            await api.get(base, headers=headers),
            await api.post(
                base, json={"kind": "custom", "title": "t", "occurs_on": "2030-01-01"}, headers=headers
            ),
            await api.get(f"{base}/{event['id']}", headers=headers),
            await api.patch(f"{base}/{event['id']}", json={"title": "y"}, headers=headers),
            await api.delete(f"{base}/{event['id']}", headers=headers),
        ):
            assert_problem(response, 404)
        assert await count_rows(stack, "milestones") == 1
