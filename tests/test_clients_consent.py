"""Consent and confidentiality (manual 六.2): no identifier is stored before the client's consent;
withdrawing it erases them; an identifier is revealed only with a reason, and audited."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.clients_support import (
    CLIENTS,
    CONSENT,
    assert_problem,
    audit_rows,
    count_audit,
    count_clients,
    count_rows,
    create_client,
    if_match,
    resident_id,
)
from tests.conftest import People, Person, Stack
from tests.test_clients_scoping import api_key_person

PHONE = "+8613812345678"


async def give(api: httpx.AsyncClient, person: Person, client_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(
        f"{CLIENTS}/{client_id}/consents", json={**CONSENT, **body}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    consent: dict[str, Any] = response.json()
    return consent


async def stored_identifiers(stack: Stack, client_id: str) -> dict[str, Any]:
    [row] = await stack.fetch(
        "SELECT resident_id_cipher, resident_id_hmac, resident_id_masked,"
        " phone_cipher, phone_hmac, phone_masked FROM clients.clients WHERE id = $1",
        uuid.UUID(client_id),
    )
    return dict(row)


class TestConsentBeforeIdentifiers:
    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"phone": PHONE}, id="phone"),
            pytest.param({"resident_id": resident_id()}, id="resident-id"),
            pytest.param(
                {"phone": PHONE, "consent": {**CONSENT, "purpose": "marketing"}}, id="other-purpose"
            ),
        ],
    )
    async def test_identifiers_without_consent_are_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any]
    ) -> None:
        response = await api.post(
            CLIENTS, json={"name": "Wang", "channel": "cold", **body}, headers=people.agent.headers
        )
        assert_problem(response, 422, field="consent")
        assert await count_clients(stack) == 0
        assert await count_rows(stack, "consents") == 0
        assert await count_audit(stack) == 0

    async def test_consent_sent_with_the_client_is_recorded_in_the_same_change(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone=PHONE)
        consents = (await api.get(f"{CLIENTS}/{client['id']}/consents", headers=people.agent.headers)).json()
        [consent] = consents["items"]
        assert (consent["purpose"], consent["text_version"], consent["active"]) == (
            "personal_data",
            "2025-01",
            True,
        )
        [entry] = await audit_rows(stack, client["id"])
        assert entry["after"]["consent"]["id"] == consent["id"]

    async def test_a_client_without_identifiers_needs_no_consent(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await create_client(api, people.agent)

    async def test_adding_a_phone_later_needs_consent_on_file(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        path = f"{CLIENTS}/{client['id']}"

        refused = await api.patch(path, json={"phone": PHONE}, headers=if_match(people.agent, 1))
        assert_problem(refused, 422, field="phone")
        assert (await stored_identifiers(stack, client["id"]))["phone_cipher"] is None

        await give(api, people.agent, client["id"])
        accepted = await api.patch(path, json={"phone": PHONE}, headers=if_match(people.agent, 1))
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["phone"] == "+86 138****5678"

    async def test_consent_given_in_the_future_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/consents",
            json={**CONSENT, "given_at": "2999-01-01T00:00:00Z"},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="given_at")
        assert await count_rows(stack, "consents") == 0


class TestWithdrawal:
    async def test_withdrawing_erases_the_identifiers_and_keeps_the_file(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone=PHONE, resident_id=resident_id("19850612"))
        [consent] = (
            await api.get(f"{CLIENTS}/{client['id']}/consents", headers=people.agent.headers)
        ).json()["items"]

        response = await api.post(
            f"{CLIENTS}/{client['id']}/consents/{consent['id']}/withdraw",
            json={"reason": "client asked by phone"},
            headers=people.agent.headers,
        )

        assert response.status_code == 200, response.text
        assert response.json()["active"] is False
        assert response.json()["withdrawal_reason"] == "client asked by phone"
        assert set((await stored_identifiers(stack, client["id"])).values()) == {None}
        shown = (await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)).json()
        assert (shown["phone"], shown["resident_id"], shown["name"]) == (None, None, client["name"])
        assert shown["birth_date"] == "1985-06-12"  # not an identifier: the file keeps it
        assert shown["version"] == 2
        entries = await audit_rows(stack, client["id"])
        assert entries[-1]["action"] == "client.identifiers_erased"
        assert entries[-1]["before"]["phone"] == "+86 138****5678"
        found = await api.get(CLIENTS, params={"phone": PHONE}, headers=people.agent.headers)
        assert found.json()["items"] == []

        again = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"phone": PHONE}, headers=if_match(people.agent, 2)
        )
        assert_problem(again, 422, field="phone")

    async def test_withdrawing_twice_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        consent = await give(api, people.agent, client["id"], purpose="marketing")
        path = f"{CLIENTS}/{client['id']}/consents/{consent['id']}/withdraw"
        assert (await api.post(path, headers=people.agent.headers)).status_code == 200
        query = "SELECT withdrawn_at FROM clients.consents WHERE id = $1"
        [first] = await stack.fetch(query, uuid.UUID(consent["id"]))
        assert first["withdrawn_at"] is not None
        audit_before = await count_audit(stack)

        assert_problem(await api.post(path, headers=people.agent.headers), 409)
        assert await stack.fetch(query, uuid.UUID(consent["id"])) == [first]
        assert await count_audit(stack) == audit_before

    async def test_another_active_consent_keeps_the_identifiers(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone=PHONE)
        newer = await give(api, people.agent, client["id"], text_version="2026-01")
        older = next(
            c
            for c in (
                await api.get(f"{CLIENTS}/{client['id']}/consents", headers=people.agent.headers)
            ).json()["items"]
            if c["id"] != newer["id"]
        )
        await api.post(
            f"{CLIENTS}/{client['id']}/consents/{older['id']}/withdraw", headers=people.agent.headers
        )
        assert (await stored_identifiers(stack, client["id"]))["phone_cipher"] is not None


class TestReveal:
    async def test_the_owner_sees_the_value_with_a_reason_and_it_is_audited(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        number = resident_id("19850612")
        client = await create_client(api, people.agent, resident_id=number)

        response = await api.post(
            f"{CLIENTS}/{client['id']}/reveal",
            json={"field": "resident_id", "reason": "filling in the application form"},
            headers=people.agent.headers,
        )

        assert response.status_code == 200, response.text
        assert response.json() == {"client_id": client["id"], "field": "resident_id", "value": number}
        assert response.headers["cache-control"] == "no-store"
        entry = (await audit_rows(stack, client["id"]))[-1]
        assert entry["action"] == "client.identifier_revealed"
        assert entry["after"] == {"field": "resident_id", "reason": "filling in the application form"}
        assert entry["actor"] == f"user:{people.agent.user_id}"
        assert number not in str(entry)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"field": "phone"}, "reason", id="no-reason"),
            pytest.param({"field": "phone", "reason": " "}, "reason", id="blank-reason"),
            pytest.param({"field": "bank_account", "reason": "why not"}, "field", id="unknown-field"),
            pytest.param({"field": "resident_id", "reason": "none on file"}, "field", id="nothing-on-file"),
        ],
    )
    async def test_bad_reveal_is_422_and_not_audited(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent, phone=PHONE)
        audit_before = await count_audit(stack)
        response = await api.post(f"{CLIENTS}/{client['id']}/reveal", json=body, headers=people.agent.headers)
        assert_problem(response, 422, field=field)
        assert await count_audit(stack) == audit_before

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.colleague, phone=PHONE)
        audit_before = await count_audit(stack)
        reveal = {"field": "phone", "reason": "curious"}
        for response in (
            await api.post(f"{CLIENTS}/{client['id']}/reveal", json=reveal, headers=people.agent.headers),
            await api.get(f"{CLIENTS}/{client['id']}/consents", headers=people.agent.headers),
            await api.post(f"{CLIENTS}/{client['id']}/consents", json=CONSENT, headers=people.agent.headers),
        ):
            assert_problem(response, 404)
        assert await count_audit(stack) == audit_before
        assert await count_rows(stack, "consents") == 1

    async def test_an_api_key_cannot_reveal(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone=PHONE)
        integrator = api_key_person(stack, people.agent, "clients:read", "clients:write")
        response = await api.post(
            f"{CLIENTS}/{client['id']}/reveal",
            json={"field": "phone", "reason": "sync"},
            headers=integrator.headers,
        )
        assert_problem(response, 403)
        actions = [row["action"] for row in await audit_rows(stack, client["id"])]
        assert "client.identifier_revealed" not in actions

    async def test_an_unmasked_value_is_never_stored_for_replay(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone=PHONE)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/reveal",
            json={"field": "phone", "reason": "call back"},
            headers={**people.agent.headers, "Idempotency-Key": "reveal-1"},
        )
        assert_problem(response, 400)
        assert await count_rows(stack, "idempotency_keys") == 0
