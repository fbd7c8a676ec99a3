"""Client events (issue 19 item 5; manual 五.3 客户答谢日, 一.1): scheduled with a type, date, place
and capacity; invitations only with marketing consent; RSVPs within capacity; attendance of those
invited; clients and referrals acquired there; the event report. Bad input: 4xx, nothing stored."""

from __future__ import annotations

from typing import Any

import httpx

from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Person, Stack

EVENTS = "/api/v1/clients/client-events"
MARKETING = {"purpose": "marketing", "text_version": "2025-01"}


def event_body(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "health_talk",
        "title": "冬季养生健康讲座",
        "held_on": "2026-11-20",
        "place": "浦东社区活动中心",
        "capacity": 2,
        **overrides,
    }


async def schedule(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    response = await api.post(EVENTS, json=event_body(**overrides), headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def consent_to_marketing(api: httpx.AsyncClient, person: Person, client_id: str) -> None:
    response = await api.post(f"/api/v1/clients/{client_id}/consents", json=MARKETING, headers=person.headers)
    assert response.status_code == 201, response.text


async def consenting_client(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    client = await create_client(api, person, **overrides)
    await consent_to_marketing(api, person, client["id"])
    return client


async def invite(api: httpx.AsyncClient, person: Person, event_id: str, client_id: str) -> dict[str, Any]:
    response = await api.post(
        f"{EVENTS}/{event_id}/invitations", json={"client_id": client_id}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def rsvp(
    api: httpx.AsyncClient, person: Person, event_id: str, invitation_id: str, answer: str
) -> httpx.Response:
    return await api.post(
        f"{EVENTS}/{event_id}/invitations/{invitation_id}/rsvp",
        json={"response": answer},
        headers=person.headers,
    )


async def attend(api: httpx.AsyncClient, person: Person, event_id: str, client_id: str) -> httpx.Response:
    return await api.post(
        f"{EVENTS}/{event_id}/attendance", json={"client_id": client_id}, headers=person.headers
    )


async def invitation_rows(stack: Stack) -> list[tuple[str, bool]]:
    rows = await stack.fetch("SELECT rsvp, attended FROM clients.event_invitations ORDER BY invited_at")
    return [(r["rsvp"], r["attended"]) for r in rows]


class TestTheEventsLife:
    async def test_invite_reply_attend_acquire_and_report(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        event = await schedule(api, people.agent, capacity=30)
        assert (event["kind"], event["capacity"], event["place"]) == ("health_talk", 30, "浦东社区活动中心")
        came = await consenting_client(api, people.agent, name="Chen Jing")
        stayed_home = await consenting_client(api, people.agent, name="Liu Yang")
        first = await invite(api, people.agent, event["id"], came["id"])
        second = await invite(api, people.agent, event["id"], stayed_home["id"])
        assert first["rsvp"] == "invited"
        assert (await rsvp(api, people.agent, event["id"], first["id"], "accepted")).json()[
            "rsvp"
        ] == "accepted"
        assert (await rsvp(api, people.agent, event["id"], second["id"], "declined")).json()[
            "rsvp"
        ] == "declined"
        attended = await attend(api, people.agent, event["id"], came["id"])
        assert attended.status_code == 200, attended.text
        assert attended.json()["attended"] is True

        walk_in = await create_client(api, people.agent, name="Sun Li", channel="cold")
        referred = await create_client(
            api, people.agent, name="Zhou Hua", channel="referral", referred_by_client_id=came["id"]
        )
        for client in (walk_in, referred):
            response = await api.post(
                f"{EVENTS}/{event['id']}/acquisitions",
                json={"client_id": client["id"]},
                headers=people.agent.headers,
            )
            assert response.status_code == 201, response.text
        report = (await api.get(f"{EVENTS}/{event['id']}/report", headers=people.agent.headers)).json()
        assert {
            k: report[k] for k in ("invited", "accepted", "declined", "attended", "new_clients", "referrals")
        } == {
            "invited": 2,
            "accepted": 1,
            "declined": 1,
            "attended": 1,
            "new_clients": 2,
            "referrals": 1,
        }
        referral = next(a for a in report["acquired"] if a["client_id"] == referred["id"])
        assert referral == {**referral, "referral": True, "referred_by_client_id": came["id"]}

    async def test_a_referral_trail_shows_what_referrals_became(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        referrer = await create_client(api, people.agent, name="Chen Jing")
        for name in ("Zhou Hua", "Wu Fei"):
            await create_client(
                api, people.agent, name=name, channel="referral", referred_by_client_id=referrer["id"]
            )
        first = (
            await api.get(f"/api/v1/clients/{referrer['id']}/referrals", headers=people.agent.headers)
        ).json()
        assert first["count"] == 2
        assert [r["name"] for r in first["items"]] == ["Zhou Hua", "Wu Fei"]
        scores = {"need_score": 5, "capacity_score": 5, "decision_score": 5}
        target = first["items"][0]["client_id"]
        headers = {**people.agent.headers, "If-Match": 'W/"0"'}
        assert (
            await api.put(f"/api/v1/clients/{target}/tiering", json=scores, headers=headers)
        ).status_code == 200
        again = (
            await api.get(f"/api/v1/clients/{referrer['id']}/referrals", headers=people.agent.headers)
        ).json()
        assert again["tiers"] == {"A": 1, "none": 1}

    async def test_referrals_come_a_page_at_a_time_with_the_totals_of_all(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        referrer = await create_client(api, people.agent, name="Chen Jing")
        names = ["Zhou Hua", "Wu Fei", "Sun Li"]
        for name in names:
            await create_client(
                api, people.agent, name=name, channel="referral", referred_by_client_id=referrer["id"]
            )
        path = f"/api/v1/clients/{referrer['id']}/referrals"

        first = (await api.get(path, params={"limit": 2}, headers=people.agent.headers)).json()
        rest = (
            await api.get(
                path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=people.agent.headers
            )
        ).json()
        whole = (await api.get(path, headers=people.admin.headers)).json()

        assert [r["name"] for r in first["items"] + rest["items"]] == names
        assert (first["count"], first["tiers"], rest["count"]) == (3, {"none": 3}, 3)
        assert rest["next_cursor"] is None
        assert [r["name"] for r in whole["items"]] == names
        assert (whole["count"], whole["next_cursor"]) == (3, None)
        outsider = (await api.get(path, headers=people.outsider.headers)).status_code
        assert outsider == 404
        bad = await api.get(path, params={"cursor": "WyJ4Il0"}, headers=people.agent.headers)
        assert_problem(bad, 422, field="cursor")

    async def test_events_are_scoped(self, api: httpx.AsyncClient, people: People) -> None:
        event = await schedule(api, people.agent)
        assert (await api.get(f"{EVENTS}/{event['id']}", headers=people.lead.headers)).status_code == 200
        assert_problem(await api.get(f"{EVENTS}/{event['id']}", headers=people.outsider.headers), 404)
        listed = (await api.get(EVENTS, headers=people.colleague.headers)).json()["items"]
        assert listed == []


class TestBadInput:
    async def test_an_invitation_without_marketing_consent_is_409(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        event = await schedule(api, people.agent)
        client = await create_client(api, people.agent)
        response = await api.post(
            f"{EVENTS}/{event['id']}/invitations",
            json={"client_id": client["id"]},
            headers=people.agent.headers,
        )
        assert "marketing" in assert_problem(response, 409)["detail"]
        assert await invitation_rows(stack) == []

    async def test_a_withdrawn_marketing_consent_blocks_the_invitation(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        event = await schedule(api, people.agent)
        client = await consenting_client(api, people.agent)
        consents = (
            await api.get(f"/api/v1/clients/{client['id']}/consents", headers=people.agent.headers)
        ).json()
        consent = next(c for c in consents["items"] if c["purpose"] == "marketing")
        withdrawn = await api.post(
            f"/api/v1/clients/{client['id']}/consents/{consent['id']}/withdraw",
            json={"reason": "no more mail"},
            headers={**people.agent.headers, "If-Match": f'W/"{consent["version"]}"'},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        response = await api.post(
            f"{EVENTS}/{event['id']}/invitations",
            json={"client_id": client["id"]},
            headers=people.agent.headers,
        )
        assert_problem(response, 409)
        assert await invitation_rows(stack) == []

    async def test_accepting_past_capacity_is_409(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        event = await schedule(api, people.agent, capacity=1)
        first = await invite(
            api, people.agent, event["id"], (await consenting_client(api, people.agent))["id"]
        )
        second = await invite(
            api, people.agent, event["id"], (await consenting_client(api, people.agent))["id"]
        )
        assert (await rsvp(api, people.agent, event["id"], first["id"], "accepted")).status_code == 200
        problem = assert_problem(await rsvp(api, people.agent, event["id"], second["id"], "accepted"), 409)
        assert "full" in problem["detail"]
        assert await invitation_rows(stack) == [("accepted", False), ("invited", False)]

    async def test_attendance_past_capacity_is_409(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        event = await schedule(api, people.agent, capacity=1)
        clients = [await consenting_client(api, people.agent) for _ in range(2)]
        for client in clients:
            await invite(api, people.agent, event["id"], client["id"])
        assert (await attend(api, people.agent, event["id"], clients[0]["id"])).status_code == 200
        assert_problem(await attend(api, people.agent, event["id"], clients[1]["id"]), 409)
        assert await invitation_rows(stack) == [("invited", True), ("invited", False)]

    async def test_attendance_of_someone_not_invited_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        event = await schedule(api, people.agent)
        client = await consenting_client(api, people.agent)
        assert_problem(await attend(api, people.agent, event["id"], client["id"]), 422, field="client_id")
        assert await invitation_rows(stack) == []

    async def test_a_client_outside_scope_is_404(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        event = await schedule(api, people.agent)
        other = await consenting_client(api, people.outsider)
        response = await api.post(
            f"{EVENTS}/{event['id']}/invitations",
            json={"client_id": other["id"]},
            headers=people.agent.headers,
        )
        assert_problem(response, 404)
        assert await invitation_rows(stack) == []

    async def test_inviting_twice_is_409(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        event = await schedule(api, people.agent)
        client = await consenting_client(api, people.agent)
        await invite(api, people.agent, event["id"], client["id"])
        response = await api.post(
            f"{EVENTS}/{event['id']}/invitations",
            json={"client_id": client["id"]},
            headers=people.agent.headers,
        )
        assert_problem(response, 409)
        assert await invitation_rows(stack) == [("invited", False)]

    async def test_a_client_is_acquired_at_one_event_only(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        first, second = await schedule(api, people.agent), await schedule(api, people.agent)
        client = await create_client(api, people.agent)
        for event, expected in ((first, 201), (second, 409)):
            response = await api.post(
                f"{EVENTS}/{event['id']}/acquisitions",
                json={"client_id": client["id"]},
                headers=people.agent.headers,
            )
            assert response.status_code == expected, response.text
        assert len(await stack.fetch("SELECT 1 FROM clients.event_acquisitions")) == 1

    async def test_a_bad_event_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        for field, value in (
            ("capacity", 0),
            ("capacity", -5),
            ("kind", "karaoke"),
            ("place", ""),
            ("held_on", "soon"),
        ):
            response = await api.post(EVENTS, json=event_body(**{field: value}), headers=people.agent.headers)
            assert_problem(response, 422, field=field)
        assert await stack.fetch("SELECT 1 FROM clients.client_events") == []
