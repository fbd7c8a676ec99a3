"""Issue 17, item 4: consents that act. Submission to an insurer needs `sharing_with_insurer`; a
greeting, invitation or outbound message needs `marketing`; a withdrawal stops the work from that
moment (409 naming the consent) and flags open applications. Each gate in both directions."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import People, Person, Stack
from tests.policies_support import (
    APPLICATIONS,
    CLIENTS,
    assert_problem,
    counts,
    create_application,
    create_client,
    create_product,
    give_consent,
    if_match,
)


async def _consent_id(api: httpx.AsyncClient, person: Person, client_id: str, purpose: str) -> str:
    check = await api.get(
        f"{CLIENTS}/{client_id}/consents/check", params={"purpose": purpose}, headers=person.headers
    )
    assert check.status_code == 200, check.text
    assert check.json()["active"] is True
    return str(check.json()["consent_id"])


async def _withdraw(api: httpx.AsyncClient, person: Person, client_id: str, purpose: str) -> None:
    consent_id = await _consent_id(api, person, client_id, purpose)
    response = await api.post(
        f"{CLIENTS}/{client_id}/consents/{consent_id}/withdraw",
        json={"reason": "客户撤回"},
        headers=person.headers,
    )
    assert response.status_code == 200, response.text


async def _submit(api: httpx.AsyncClient, person: Person, application: dict[str, Any]) -> httpx.Response:
    return await api.post(
        f"{APPLICATIONS}/{application['id']}/submit",
        json={},
        headers=if_match(person, application["version"]),
    )


async def _greet(api: httpx.AsyncClient, person: Person, client_id: str) -> httpx.Response:
    return await api.post(
        f"{CLIENTS}/{client_id}/greetings",
        json={"occasion": "birthday", "channel": "wechat", "message": "生日快乐!"},
        headers=person.headers,
    )


async def _greetings(stack: Stack) -> int:
    rows = await stack.fetch("SELECT count(*) AS n FROM clients.greetings")
    return int(rows[0]["n"])


class TestTheCheck:
    async def test_the_gate_answers_for_a_purpose(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        path = f"{CLIENTS}/{client['id']}/consents/check"
        closed = await api.get(path, params={"purpose": "marketing"}, headers=people.agent.headers)
        assert closed.status_code == 200
        assert closed.json() | {"client_id": None} == {
            "client_id": None,
            "purpose": "marketing",
            "active": False,
            "consent_id": None,
            "text_version": None,
            "given_at": None,
        }
        await give_consent(api, people.agent, client["id"], "marketing")
        opened = await api.get(path, params={"purpose": "marketing"}, headers=people.agent.headers)
        assert opened.json()["active"] is True
        assert opened.json()["text_version"] == "2025-01"

    async def test_an_unknown_purpose_is_422_and_another_agents_client_404(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        path = f"{CLIENTS}/{client['id']}/consents/check"
        assert_problem(await api.get(path, params={"purpose": "gossip"}, headers=people.agent.headers), 422)
        assert_problem(
            await api.get(path, params={"purpose": "marketing"}, headers=people.outsider.headers), 404
        )


class TestSubmissionNeedsSharingWithInsurer:
    async def test_without_the_consent_submission_is_409_and_nothing_moves(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"], consent=False)
        before = await counts(stack)
        response = await _submit(api, people.agent, application)
        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/consent-required")
        assert problem["missing_consent"] == "sharing_with_insurer"
        assert await counts(stack) == before
        again = await api.get(f"{APPLICATIONS}/{application['id']}", headers=people.agent.headers)
        assert again.json()["status"] == "draft"
        assert again.json()["version"] == application["version"]

    async def test_with_the_consent_submission_goes_through(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"], consent=False)
        await give_consent(api, people.agent, client["id"])
        response = await _submit(api, people.agent, application)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "submitted"

    async def test_a_withdrawal_stops_submission_from_that_moment_and_flags_open_work(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        first = await create_application(api, people.agent, client["id"], product["id"])
        second = await create_application(api, people.agent, client["id"], product["id"])
        submitted = await _submit(api, people.agent, first)
        assert submitted.status_code == 200
        await _withdraw(api, people.agent, client["id"], "sharing_with_insurer")
        response = await _submit(api, people.agent, second)
        assert assert_problem(response, 409)["missing_consent"] == "sharing_with_insurer"
        holds = await stack.fetch(
            "SELECT application_id, purpose FROM policies.consent_holds ORDER BY application_id"
        )
        assert sorted(str(h["application_id"]) for h in holds) == sorted([first["id"], second["id"]])
        assert {h["purpose"] for h in holds} == {"sharing_with_insurer"}
        report = await api.get("/api/v1/policies/compliance/findings", headers=people.lead.headers)
        held = {h["application_id"] for h in report.json()["consent_holds"]}
        assert held == {first["id"], second["id"]}

    async def test_a_hold_while_the_consent_is_active_is_409_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        await create_application(api, people.agent, client["id"], product["id"])
        before = await counts(stack)
        response = await api.post(
            "/api/v1/policies/consent-holds",
            json={"client_id": client["id"], "purpose": "sharing_with_insurer"},
            headers=people.agent.headers,
        )
        assert_problem(response, 409)
        assert await counts(stack) == before

    async def test_withdrawing_marketing_flags_no_application(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        await create_application(api, people.agent, client["id"], product["id"])
        await give_consent(api, people.agent, client["id"], "marketing")
        await _withdraw(api, people.agent, client["id"], "marketing")
        assert (await stack.fetch("SELECT count(*) AS n FROM policies.consent_holds"))[0]["n"] == 0


class TestGreetingsNeedMarketing:
    async def test_without_marketing_consent_a_greeting_is_409_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        response = await _greet(api, people.agent, client["id"])
        problem = assert_problem(response, 409)
        assert problem["missing_consent"] == "marketing"
        assert problem["type"].endswith("/consent-required")
        assert await _greetings(stack) == 0

    async def test_with_marketing_consent_the_greeting_is_recorded(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "marketing")
        response = await _greet(api, people.agent, client["id"])
        assert response.status_code == 201, response.text
        assert response.json()["consent_id"] == await _consent_id(
            api, people.agent, client["id"], "marketing"
        )
        listed = await api.get(f"{CLIENTS}/{client['id']}/greetings", headers=people.agent.headers)
        assert [g["id"] for g in listed.json()["items"]] == [response.json()["id"]]

    async def test_after_the_withdrawal_greetings_stop(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "marketing")
        assert (await _greet(api, people.agent, client["id"])).status_code == 201
        await _withdraw(api, people.agent, client["id"], "marketing")
        assert (
            assert_problem(await _greet(api, people.agent, client["id"]), 409)["missing_consent"]
            == "marketing"
        )
        assert await _greetings(stack) == 1

    async def test_a_bad_greeting_is_422(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "marketing")
        for body in (
            {"occasion": "birthday", "channel": "pigeon", "message": "hi"},
            {"occasion": "birthday", "channel": "sms", "message": "  "},
            {"occasion": "nothing", "channel": "sms", "message": "hi"},
        ):
            response = await api.post(
                f"{CLIENTS}/{client['id']}/greetings", json=body, headers=people.agent.headers
            )
            assert_problem(response, 422)
        assert await _greetings(stack) == 0
