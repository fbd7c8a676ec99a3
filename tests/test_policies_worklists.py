"""Work lists for the agenda: requirements due, cooling-off ending, return visits, premiums due,
collection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from services.policies.models import Policy
from services.policies.repository import status_is
from services.policies.terms import add_months, add_years
from tests.conftest import People, Person, Stack
from tests.lifecycle_support import MovedClock, issued, payment, product_with_terms, read
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


@pytest.fixture
def clock(stack: Stack) -> Iterator[MovedClock]:
    moved = MovedClock(stack)
    try:
        yield moved
    finally:
        moved.reset()


async def _collection_pages(api: httpx.AsyncClient, person: Person, limit: int) -> list[list[str]]:
    """Every page of the collection list, ``limit`` at a time (premium ids)."""
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await api.get(f"{WORKLISTS}/collection", params=params, headers=person.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([i["premium_id"] for i in page["items"]])
        keys = [(i["due_on"], i["premium_id"]) for i in page["items"]]
        assert keys == sorted(keys)
        if page["next_cursor"] is None:
            return pages
        params["cursor"] = page["next_cursor"]


class TestCollection:
    async def test_lapsed_policies_ahead_are_skipped_page_by_page(
        self, api: httpx.AsyncClient, people: People, clock: MovedClock
    ) -> None:
        """The instalments of lapsed policies come first in due order and are left out, however many
        batches of them the list reads before it reaches the live ones; every role pages through
        the same rows, in the same order, as its one-page answer."""
        start = date(2024, 4, 10)
        clock.set(start)
        product = await product_with_terms(api, people.admin, grace_days=60)
        for person in (people.agent, people.colleague):
            await issued(
                api, people, product, issued_on=start, effective_on=start, in_force_by=start, person=person
            )
        later = add_months(start, 9)
        report = await clock.sweep(later)
        assert report.lapsed == 2  # 8 overdue instalments each stay due, behind the lapse
        live: dict[str, list[str]] = {"agent": [], "colleague": [], "outsider": []}
        for name, person in (
            ("agent", people.agent),
            ("agent", people.agent),
            ("colleague", people.colleague),
            ("outsider", people.outsider),
        ):
            effective = later - timedelta(days=40)
            policy = await issued(
                api,
                people,
                product,
                issued_on=effective,
                effective_on=effective,
                in_force_by=effective,
                person=person,
            )
            overdue = [
                p
                for p in policy["premiums"]
                if p["due_on"] < later.isoformat() and p["status"] in ("due", "overdue")
            ]
            live[name] += [p["id"] for p in overdue]
        assert [len(ids) for ids in live.values()] == [2, 1, 1]

        expected = [
            (people.agent, live["agent"]),
            (people.lead, live["agent"] + live["colleague"]),
            (people.admin, live["agent"] + live["colleague"] + live["outsider"]),
        ]
        for person, ids in expected:
            [whole] = await _collection_pages(api, person, 50)
            assert sorted(whole) == sorted(ids)
            assert await _collection_pages(api, person, 1) == [[i] for i in whole]

    async def test_a_lapse_takes_the_arrears_off_the_list_and_a_reinstatement_brings_back_the_rest(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        """The lapsed policy's overdue instalments stay due (the arrears of a reinstatement) but are
        not collectable: off the list and out of its index. Reinstated, the policy's instalments due
        after the request (left unpaid by it) are on the list again."""
        agent, start = people.agent, date(2024, 4, 10)
        clock.set(start)
        product = await product_with_terms(api, people.admin, grace_days=60)
        policy = await issued(api, people, product, issued_on=start, effective_on=start, in_force_by=start)
        pid = policy["id"]
        second_due = add_months(start, 1)
        clock.set(second_due + timedelta(days=10))
        assert [(c["policy_id"], c["instalment"]) for c in await _collection(api, agent)] == [(pid, 2)]

        lapse_day = second_due + timedelta(days=61)
        assert (await clock.sweep(lapse_day)).lapsed == 1
        later = lapse_day + timedelta(days=40)
        clock.set(later)
        policy = await read(api, agent, pid)
        overdue = [p for p in policy["premiums"] if p["status"] == "overdue"]
        assert len(overdue) == 4
        assert await _collection(api, agent) == []
        assert await _flags(stack, pid) == {False}

        requested = lapse_day + timedelta(days=14)
        arrears = sum(
            (Decimal(p["amount"]) for p in overdue if p["due_on"] <= requested.isoformat()), Decimal(0)
        )
        body = {
            "requested_on": requested.isoformat(),
            "health_disclosure": [{"question": "过去两年内是否住院或手术?", "answer": False}],
            "pre_underwriting_opinion": "standard",
            "arrears": payment(str(arrears), requested, "FX-1"),
        }
        await act(api, agent, f"{BASE}/{pid}/reinstatement", policy["version"], body)
        back = [p["id"] for p in overdue if p["due_on"] > requested.isoformat()]
        assert len(back) == 1
        assert [c["premium_id"] for c in await _collection(api, agent)] == back
        assert await _flags(stack, pid) == {True}

    async def test_terminated_and_expired_policies_arrears_stay_off_the_list(
        self, api: httpx.AsyncClient, people: People, stack: Stack, clock: MovedClock
    ) -> None:
        """A one-year term lapsed in its second month leaves the list, and expires with its arrears
        due and not collectable. An issued policy's overdue instalment is collected in its grace
        period; lapsed, then terminated two years on, its arrears never come back."""
        agent, start = people.agent, date(2024, 4, 10)
        clock.set(start)
        whole_life = await create_product(api, people.admin, grace_days=60)
        ending = await issued(
            api,
            people,
            whole_life,
            issued_on=start,
            effective_on=start,
            annual_premium="6000.00",
            payment_years=20,
        )
        term = await product_with_terms(api, people.admin, grace_days=60)
        expiring = await issued(api, people, term, issued_on=start, effective_on=start, in_force_by=start)
        term_lapses = add_months(start, 1) + timedelta(days=61)
        assert (await clock.sweep(term_lapses)).lapsed == 1
        assert await _collection(api, agent) == []
        assert (await _flags(stack, ending["id"]), await _flags(stack, expiring["id"])) == ({True}, {False})

        second_year = add_years(start, 1)
        clock.set(second_year + timedelta(days=5))
        assert {c["policy_id"] for c in await _collection(api, agent)} == {ending["id"]}  # issued, in grace
        lapse_day = second_year + timedelta(days=61)
        report = await clock.sweep(lapse_day)
        assert (report.lapsed, report.expired) == (1, 1)
        ended = await read(api, agent, expiring["id"])
        assert ended["status"] == "expired"
        assert any(p["status"] == "overdue" for p in ended["premiums"])  # the arrears stay due
        assert await _collection(api, agent) == []
        assert (await _flags(stack, ending["id"]), await _flags(stack, expiring["id"])) == ({False}, {False})

        report = await clock.sweep(add_years(lapse_day, 2))
        assert (report.terminated, report.expired) == (1, 0)
        assert (await read(api, agent, ending["id"]))["status"] == "terminated"
        assert await _collection(api, agent) == []
        assert await _flags(stack, ending["id"]) == {False}


async def _collection(api: httpx.AsyncClient, person: Person) -> list[dict[str, Any]]:
    response = await api.get(f"{WORKLISTS}/collection", params={"limit": 50}, headers=person.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _flags(stack: Stack, policy_id: str) -> set[bool]:
    """The ``collectable`` flags of the policy's instalments (one value when they agree)."""
    rows = await stack.fetch(
        "SELECT collectable FROM policies.premium_dues WHERE policy_id = $1", uuid.UUID(policy_id)
    )
    return {row["collectable"] for row in rows}


class TestStatusConstants:
    """The work lists' status predicates are constants in the SQL (the partial indexes need them),
    written when the statement is compiled: the same text ``literal_execute`` rendered at each run."""

    def test_one_status_and_several_are_written_into_the_statement(self) -> None:
        table = Policy.__table__  # type: ignore[attr-defined]
        one = select(table.c.id).where(status_is(table.c.status, "lapsed"))
        several = select(table.c.id).where(status_is(table.c.status, "receipt_signed", "in_force"))

        dialect = create_async_engine("postgresql+asyncpg://").dialect
        one_sql, several_sql = (str(s.compile(dialect=dialect)) for s in (one, several))
        assert one_sql.endswith("WHERE policies.policies.status = 'lapsed'")
        assert several_sql.endswith("WHERE policies.policies.status IN ('receipt_signed', 'in_force')")
        assert "POSTCOMPILE" not in one_sql + several_sql

    def test_anything_but_a_status_name_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not a status name"):
            status_is(Policy.__table__.c.status, "due' OR '1'='1")  # type: ignore[attr-defined]
