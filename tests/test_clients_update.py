"""Changing a client: partial updates, If-Match, and an audit row per change (masked)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_rows,
    count_audit,
    create_client,
    if_match,
    resident_id,
    stored_version,
    wrong_check_digit,
)
from tests.conftest import People, Stack


class TestAgentEditsClient:
    async def test_changes_only_what_was_sent_and_bumps_the_version(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, notes="first visit", occupation="Driver")

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"name": "Wang Fang Jr", "notes": None, "occupation_class": 4},
            headers=if_match(people.agent, 1),
        )

        assert response.status_code == 200, response.text
        updated = response.json()
        assert response.headers["etag"] == 'W/"2"'
        assert updated["version"] == 2
        assert updated["name"] == "Wang Fang Jr"
        assert updated["notes"] is None
        assert updated["occupation_class"] == 4
        assert updated["occupation"] == "Driver"
        assert updated["updated_at"] > client["updated_at"]

        entry = (await audit_rows(stack, client["id"]))[-1]
        assert entry["action"] == "client.updated"
        assert entry["before"] == {
            "name": "Wang Fang",
            "notes": "first visit",
            "occupation_class": None,
            "version": 1,
        }
        assert entry["after"] == {"name": "Wang Fang Jr", "notes": None, "occupation_class": 4, "version": 2}

    async def test_new_phone_and_resident_id_are_audited_masked(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, phone="13812345678")
        number = resident_id("19921111")

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"phone": "13987654321", "resident_id": number},
            headers=if_match(people.agent, 1),
        )

        assert response.status_code == 200, response.text
        assert response.json()["phone"] == "+86 139****4321"
        assert response.json()["birth_date"] == "1992-11-11"
        entry = (await audit_rows(stack, client["id"]))[-1]
        assert entry["before"]["phone"] == "+86 138****5678"
        assert entry["after"]["phone"] == "+86 139****4321"
        assert entry["after"]["resident_id"] == response.json()["resident_id"]
        assert number not in str(entry)
        assert "13987654321" not in str(entry)

    async def test_switching_to_referral_with_a_visible_referrer(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        referrer = await create_client(api, people.agent, name="Referrer")
        client = await create_client(api, people.agent)

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"channel": "referral", "referred_by_client_id": referrer["id"]},
            headers=if_match(people.agent, 1),
        )

        assert response.status_code == 200, response.text
        assert response.json()["referred_by_client_id"] == referrer["id"]

    async def test_a_patch_that_changes_nothing_keeps_the_version_and_writes_no_audit(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)

        response = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"name": client["name"]}, headers=if_match(people.agent, 1)
        )

        assert response.status_code == 200
        assert response.json()["version"] == 1
        assert await count_audit(stack) == audit_before

    async def test_if_match_star_is_accepted(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"notes": "x"},
            headers={**people.agent.headers, "If-Match": "*"},
        )
        assert response.status_code == 200
        read = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert (read.json()["notes"], read.json()["version"]) == ("x", 2)
        assert await stored_version(stack, client["id"]) == 2


class TestConcurrentEdits:
    async def test_stale_if_match_is_412_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        first = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"notes": "phone A"}, headers=if_match(people.agent, 1)
        )
        assert first.status_code == 200
        audit_before = await count_audit(stack)

        second = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"notes": "phone B"}, headers=if_match(people.agent, 1)
        )

        assert_problem(second, 412)
        assert second.headers["etag"] == 'W/"2"'
        assert await stored_version(stack, client["id"]) == 2
        assert await count_audit(stack) == audit_before
        current = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert current.json()["notes"] == "phone A"

    async def test_missing_if_match_is_428_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)

        response = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"notes": "x"}, headers=people.agent.headers
        )

        assert_problem(response, 428)
        assert await stored_version(stack, client["id"]) == 1
        assert await count_audit(stack) == audit_before

    async def test_if_match_naming_no_version_is_412(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)
        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"notes": "x"},
            headers={**people.agent.headers, "If-Match": "abc"},
        )
        assert_problem(response, 412)
        assert await stored_version(stack, client["id"]) == 1
        assert await count_audit(stack) == audit_before


class TestRejectedEdit:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"name": None}, "name", id="null-name"),
            pytest.param({"channel": None}, "channel", id="null-channel"),
            pytest.param({"name": ""}, "name", id="empty-name"),
            pytest.param({"version": 9}, "version", id="version"),
            pytest.param({"tier": "A"}, "tier", id="tier"),
            pytest.param({"team_id": None}, "team_id", id="team"),
            pytest.param({"updated_at": "2020-01-01T00:00:00Z"}, "updated_at", id="updated-at"),
            pytest.param({"nickname": "x"}, "nickname", id="unknown-field"),
            pytest.param({"occupation_class": 0}, "occupation_class", id="class-0"),
            pytest.param({"occupation_class": 7}, "occupation_class", id="class-7"),
            pytest.param({"occupation_class": "3"}, "occupation_class", id="class-as-string"),
            pytest.param({"phone": "abc"}, "phone", id="bad-phone"),
            pytest.param({"resident_id": wrong_check_digit(resident_id())}, "resident_id", id="bad-checksum"),
            pytest.param({"birth_date": "2999-01-01"}, "birth_date", id="future-birth-date"),
            pytest.param({"channel": "referral"}, "referred_by_client_id", id="referral-without-referrer"),
        ],
    )
    async def test_bad_patch_is_422_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)

        response = await api.patch(f"{CLIENTS}/{client['id']}", json=body, headers=if_match(people.agent, 1))

        assert_problem(response, 422, field=field)
        assert await stored_version(stack, client["id"]) == 1
        assert await count_audit(stack) == audit_before

    async def test_birth_date_that_contradicts_the_stored_resident_id_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, resident_id=resident_id("19900307"))

        response = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"birth_date": "1991-03-07"}, headers=if_match(people.agent, 1)
        )

        assert_problem(response, 422, field="birth_date")
        assert await stored_version(stack, client["id"]) == 1

    async def test_leaving_referral_without_clearing_the_referrer_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        referrer = await create_client(api, people.agent)
        client = await create_client(
            api, people.agent, channel="referral", referred_by_client_id=referrer["id"]
        )

        response = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"channel": "cold"}, headers=if_match(people.agent, 1)
        )
        assert_problem(response, 422, field="referred_by_client_id")
        [row] = await stack.fetch(
            "SELECT channel, referred_by_client_id, version FROM clients.clients WHERE id = $1",
            uuid.UUID(client["id"]),
        )
        assert (row["channel"], str(row["referred_by_client_id"]), row["version"]) == (
            "referral",
            referrer["id"],
            1,
        )

        cleared = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"channel": "cold", "referred_by_client_id": None},
            headers=if_match(people.agent, 1),
        )
        assert cleared.status_code == 200, cleared.text
        read = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert (read.json()["channel"], read.json()["referred_by_client_id"]) == ("cold", None)

    async def test_a_client_cannot_refer_itself(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)
        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"channel": "referral", "referred_by_client_id": client["id"]},
            headers=if_match(people.agent, 1),
        )
        assert_problem(response, 422, field="referred_by_client_id")
        read = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert (read.json()["channel"], read.json()["referred_by_client_id"], read.json()["version"]) == (
            "warm_market",
            None,
            1,
        )
        assert await count_audit(stack) == audit_before

    async def test_malformed_json_is_400(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        client = await create_client(api, people.agent)
        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            content=b"{name",
            headers={**if_match(people.agent, 1), "Content-Type": "application/json"},
        )
        assert_problem(response, 400)
        assert await stored_version(stack, client["id"]) == 1
