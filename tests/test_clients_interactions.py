"""Interactions: appointments (time, place, purpose, business time zone), visits, calls and notes;
the client's next follow-up follows from them; the follow-up and appointment lists."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_actions,
    count_rows,
    create_client,
    if_match,
)
from tests.conftest import People, Person, Stack

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(SHANGHAI).date()


async def record(api: httpx.AsyncClient, person: Person, client_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(f"{CLIENTS}/{client_id}/interactions", json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def next_follow_up(api: httpx.AsyncClient, person: Person, client_id: str) -> str | None:
    response = await api.get(f"{CLIENTS}/{client_id}", headers=person.headers)
    value: str | None = response.json()["next_follow_up_on"]
    return value


class TestAppointments:
    async def test_a_time_without_offset_is_read_in_the_business_time_zone(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        day = today() + timedelta(days=3)

        appointment = await record(
            api,
            people.agent,
            client["id"],
            kind="appointment",
            at=f"{day}T09:30:00",
            place="星巴克 陆家嘴店",
            purpose="家庭保障方案讲解",
        )

        assert appointment["at"] == f"{day}T01:30:00Z"
        assert appointment["local_date"] == day.isoformat()
        assert await next_follow_up(api, people.agent, client["id"]) == day.isoformat()
        assert (await audit_actions(stack))[-1] == "interaction.recorded"

    @pytest.mark.parametrize("missing", ["at", "place", "purpose"])
    async def test_an_appointment_needs_time_place_and_purpose(
        self, api: httpx.AsyncClient, people: People, stack: Stack, missing: str
    ) -> None:
        client = await create_client(api, people.agent)
        body = {
            "kind": "appointment",
            "at": "2030-01-02T10:00:00+08:00",
            "place": "office",
            "purpose": "review",
        }
        del body[missing]
        response = await api.post(
            f"{CLIENTS}/{client['id']}/interactions", json=body, headers=people.agent.headers
        )
        assert_problem(response, 422, field=missing)
        assert await count_rows(stack, "interactions") == 0

    async def test_the_days_appointments_in_scope_soonest_first(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        mine = await create_client(api, people.agent, name="Mine")
        colleagues = await create_client(api, people.colleague, name="Colleague's")
        day = today() + timedelta(days=1)
        for client, person, hour in ((mine, people.agent, "15:00"), (colleagues, people.colleague, "10:00")):
            await record(
                api, person, client["id"], kind="appointment", at=f"{day}T{hour}:00", place="p", purpose="q"
            )
        await record(
            api,
            people.agent,
            mine["id"],
            kind="appointment",
            at=f"{day + timedelta(days=1)}T09:00:00",
            place="p",
            purpose="q",
        )

        params = {"from": day.isoformat()}
        agent_view = (
            await api.get(f"{CLIENTS}/appointments", params=params, headers=people.agent.headers)
        ).json()
        lead_view = (
            await api.get(f"{CLIENTS}/appointments", params=params, headers=people.lead.headers)
        ).json()

        assert [a["client_name"] for a in agent_view["items"]] == ["Mine"]
        assert [a["client_name"] for a in lead_view["items"]] == ["Colleague's", "Mine"]
        two_days: dict[str, Any] = {
            "from": day.isoformat(),
            "to": (day + timedelta(days=1)).isoformat(),
            "limit": 1,
        }
        first = (
            await api.get(f"{CLIENTS}/appointments", params=two_days, headers=people.agent.headers)
        ).json()
        second = (
            await api.get(
                f"{CLIENTS}/appointments",
                params={**two_days, "cursor": first["next_cursor"]},
                headers=people.agent.headers,
            )
        ).json()
        assert [a["local_date"] for a in first["items"] + second["items"]] == [
            day.isoformat(),
            (day + timedelta(days=1)).isoformat(),
        ]

    async def test_a_range_ending_before_it_starts_is_422(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(
            f"{CLIENTS}/appointments",
            params={"from": "2030-01-02", "to": "2030-01-01"},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="to")


class TestFollowUp:
    async def test_the_latest_interaction_decides(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        yesterday = datetime.now(SHANGHAI) - timedelta(days=1)
        first = await record(
            api,
            people.agent,
            client["id"],
            kind="call",
            at=yesterday.isoformat(),
            outcome="interested in critical illness cover",
            next_follow_up_on=(today() + timedelta(days=7)).isoformat(),
        )
        assert (
            await next_follow_up(api, people.agent, client["id"]) == (today() + timedelta(days=7)).isoformat()
        )

        # An older note recorded later does not move the plan: "latest" is by when it happened.
        await record(
            api,
            people.agent,
            client["id"],
            kind="note",
            at=(yesterday - timedelta(days=3)).isoformat(),
            outcome="x",
        )
        assert (
            await next_follow_up(api, people.agent, client["id"]) == (today() + timedelta(days=7)).isoformat()
        )

        visit = await record(
            api, people.agent, client["id"], kind="visit", outcome="signed up; no follow-up needed"
        )
        assert await next_follow_up(api, people.agent, client["id"]) is None

        removed = await api.delete(
            f"{CLIENTS}/{client['id']}/interactions/{visit['id']}", headers=if_match(people.agent, 1)
        )
        assert removed.status_code == 204
        assert (
            await next_follow_up(api, people.agent, client["id"]) == (today() + timedelta(days=7)).isoformat()
        )

        moved = await api.patch(
            f"{CLIENTS}/{client['id']}/interactions/{first['id']}",
            json={"next_follow_up_on": today().isoformat()},
            headers=if_match(people.agent, 1),
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["version"] == 2
        assert await next_follow_up(api, people.agent, client["id"]) == today().isoformat()
        assert (await audit_actions(stack))[-1] == "interaction.updated"

    async def test_follow_ups_due_list_is_scoped_sorted_and_paged(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for name, days in (("later", 5), ("overdue", -2), ("today", 0)):
            client = await create_client(api, people.agent, name=name)
            await record(
                api,
                people.agent,
                client["id"],
                kind="note",
                at=(datetime.now(SHANGHAI) - timedelta(days=3)).isoformat(),
                next_follow_up_on=(today() + timedelta(days=days)).isoformat(),
            )
        other = await create_client(api, people.outsider, name="not mine")
        await record(api, people.outsider, other["id"], kind="note", next_follow_up_on=today().isoformat())

        first = (
            await api.get(f"{CLIENTS}/follow-ups", params={"limit": 1}, headers=people.agent.headers)
        ).json()
        rest = (
            await api.get(
                f"{CLIENTS}/follow-ups",
                params={"limit": 1, "cursor": first["next_cursor"]},
                headers=people.agent.headers,
            )
        ).json()
        assert [c["name"] for c in first["items"] + rest["items"]] == ["overdue", "today"]
        assert rest["next_cursor"] is None
        later = (
            await api.get(
                f"{CLIENTS}/follow-ups",
                params={"due_by": (today() + timedelta(days=5)).isoformat()},
                headers=people.agent.headers,
            )
        ).json()
        assert [c["name"] for c in later["items"]] == ["overdue", "today", "later"]

    async def test_an_admins_follow_ups_page_through_clients_due_the_same_day(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        names = ["first", "second", "third", "fourth"]
        for name, person in zip(
            names, (people.agent, people.outsider, people.agent, people.colleague), strict=True
        ):
            client = await create_client(api, person, name=name)
            await record(api, person, client["id"], kind="note", next_follow_up_on=today().isoformat())

        seen: list[str] = []
        cursor: str | None = None
        for _ in range(len(names)):
            params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            body = (
                await api.get(f"{CLIENTS}/follow-ups", params=params, headers=people.admin.headers)
            ).json()
            seen += [c["name"] for c in body["items"]]
            cursor = body["next_cursor"]

        assert seen == names[::-1]  # the same day: newest first
        assert cursor is None


class TestRejected:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"kind": "visit", "at": "2999-01-01T10:00:00+08:00"}, "at", id="visit-in-future"),
            pytest.param(
                {"kind": "call", "at": "2025-03-10T10:00:00+08:00", "next_follow_up_on": "2025-03-09"},
                "next_follow_up_on",
                id="follow-up-before-the-call",
            ),
            pytest.param({"kind": "email"}, "kind", id="unknown-kind"),
            pytest.param(
                {"kind": "note", "next_follow_up_on": "2025-02-30"}, "next_follow_up_on", id="no-such-date"
            ),
            pytest.param({"kind": "note", "recorded_by": "me"}, "recorded_by", id="server-owned"),
        ],
    )
    async def test_bad_interaction_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/interactions", json=body, headers=people.agent.headers
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "interactions") == 0
        assert await next_follow_up(api, people.agent, client["id"]) is None

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.colleague)
        interaction = await record(api, people.colleague, client["id"], kind="note", outcome="x")
        base = f"{CLIENTS}/{client['id']}/interactions"
        headers = if_match(people.agent, 1)
        for response in (
            await api.get(base, headers=headers),
            await api.post(base, json={"kind": "note"}, headers=headers),
            await api.get(f"{base}/{interaction['id']}", headers=headers),
            await api.patch(f"{base}/{interaction['id']}", json={"outcome": "y"}, headers=headers),
            await api.delete(f"{base}/{interaction['id']}", headers=headers),
        ):
            assert_problem(response, 404)
        assert await count_rows(stack, "interactions") == 1
