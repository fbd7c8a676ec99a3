"""Creating a client: what is stored, what is shown, and every bad input refused with nothing stored."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from crmkit.testing import StatementLog
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_rows,
    client_body,
    count_audit,
    count_clients,
    create_client,
    resident_id,
    wrong_check_digit,
)
from tests.conftest import People, Stack


class TestAgentCreatesClient:
    async def test_answers_201_with_location_etag_and_masked_personal_fields(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        body = client_body(
            name="  Zhang Wei  ",
            gender="male",
            resident_id=resident_id("19850612"),
            phone="138 1234 5678",
            occupation="Teacher",
            occupation_class=1,
            notes="met at the school fair",
        )
        response = await api.post(CLIENTS, json=body, headers=people.agent.headers)

        assert response.status_code == 201, response.text
        client = response.json()
        assert response.headers["location"] == f"{CLIENTS}/{client['id']}"
        assert response.headers["etag"] == 'W/"1"'
        assert client["name"] == "Zhang Wei"
        assert client["resident_id"] == "110***********" + body["resident_id"][-4:]
        assert client["phone"] == "+86 138****5678"
        assert client["birth_date"] == "1985-06-12"  # taken from the resident ID
        assert client["owner_agent_id"] == str(people.agent.user_id)
        assert client["team_id"] == str(people.north_team_id)
        assert client["version"] == 1
        assert client["tier"] is None

    async def test_personal_data_is_encrypted_at_rest(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        number = resident_id("19850612")
        client = await create_client(api, people.agent, resident_id=number, phone="+8613812345678")

        [row] = await stack.fetch("SELECT * FROM clients.clients WHERE id = $1", uuid.UUID(client["id"]))
        stored = b"".join(bytes(v) for v in row.values() if isinstance(v, bytes | bytearray | memoryview))
        assert number.encode() not in stored
        assert b"13812345678" not in stored
        assert number not in str(dict(row))
        assert "13812345678" not in str(dict(row))

    async def test_audit_records_creation_with_masked_values(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        number = resident_id()
        response = await api.post(
            CLIENTS,
            json=client_body(resident_id=number, phone="13812345678"),
            headers={**people.agent.headers, "X-Request-ID": "create-audit-1"},
        )
        client = response.json()

        [entry] = await audit_rows(stack, client["id"])
        assert entry["action"] == "client.created"
        assert entry["actor"] == f"user:{people.agent.user_id}"
        assert entry["request_id"] == "create-audit-1"
        assert entry["after"]["resident_id"] == client["resident_id"]
        assert number not in str(entry)
        assert "13812345678" not in str(entry)

    async def test_client_without_consent_and_its_audit_row_are_written_in_one_statement(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        with StatementLog() as log:
            client = await create_client(api, people.agent, name="Wang  Fang", birth_date="1990-02-28")

        writes = [sql for sql, _ in log.statements if sql.lstrip().upper().startswith(("INSERT", "WITH"))]
        [both] = [sql for sql in writes if "clients.clients" in sql]
        assert "INSERT INTO clients.audit_log" in both
        assert sum("clients.audit_log" in sql for sql in writes) == 1
        # every column as the API shows it, and the computed ones filled in by PostgreSQL
        [row] = await stack.fetch("SELECT * FROM clients.clients WHERE id = $1", uuid.UUID(client["id"]))
        assert row["name"] == client["name"] == "Wang  Fang"
        assert row["owner_agent_id"] == uuid.UUID(client["owner_agent_id"])
        assert row["team_id"] == uuid.UUID(client["team_id"])
        assert row["created_at"] == row["updated_at"]
        assert row["created_at"].isoformat().replace("+00:00", "Z") == client["created_at"]
        assert (row["version"], row["birth_md"], row["name_key"]) == (1, 228, "wangfang")
        assert row["deleted_at"] is None
        assert row["phone_cipher"] is None
        [entry] = await audit_rows(stack, client["id"])
        assert entry["action"] == "client.created"
        assert entry["after"] == client

    async def test_referral_to_own_client_is_accepted(self, api: httpx.AsyncClient, people: People) -> None:
        referrer = await create_client(api, people.agent)
        client = await create_client(
            api, people.agent, channel="referral", referred_by_client_id=referrer["id"]
        )
        assert client["referred_by_client_id"] == referrer["id"]

    async def test_matching_birth_date_and_resident_id_are_accepted(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(
            api, people.agent, resident_id=resident_id("20010228"), birth_date="2001-02-28"
        )
        assert client["birth_date"] == "2001-02-28"


TOMORROW = (date.today() + timedelta(days=2)).isoformat()


class TestRejectedCreate:
    """Each bad input: a clear problem answer, and no client or audit row stored."""

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"name": 42, "channel": "cold"}, "name", id="name-not-a-string"),
            pytest.param(client_body(occupation_class="two"), "occupation_class", id="class-not-int"),
            pytest.param(client_body(occupation_class=True), "occupation_class", id="class-bool"),
            pytest.param(client_body(birth_date="yesterday"), "birth_date", id="birth-date-not-a-date"),
            pytest.param(client_body(gender="robot"), "gender", id="unknown-gender"),
            pytest.param(client_body(channel="billboard"), "channel", id="unknown-channel"),
            pytest.param(client_body(favourite_colour="blue"), "favourite_colour", id="unknown-field"),
            pytest.param(client_body(owner_agent_id=str(uuid.uuid4())), "owner_agent_id", id="owner"),
            pytest.param(client_body(version=7), "version", id="version"),
            pytest.param(client_body(tier="A"), "tier", id="tier"),
            pytest.param(client_body(created_at="2020-01-01T00:00:00Z"), "created_at", id="created-at"),
            pytest.param({"channel": "cold"}, "name", id="missing-name"),
            pytest.param({"name": "Li Na"}, "channel", id="missing-channel"),
            pytest.param(client_body(name="   "), "name", id="blank-name"),
            pytest.param(client_body(name="x" * 101), "name", id="name-too-long"),
            pytest.param(client_body(notes="x" * 4001), "notes", id="notes-too-long"),
            pytest.param(
                client_body(resident_id=wrong_check_digit(resident_id())), "resident_id", id="bad-checksum"
            ),
            pytest.param(client_body(resident_id="11010119900307"), "resident_id", id="short-resident-id"),
            pytest.param(client_body(phone="12345"), "phone", id="invalid-phone"),
            pytest.param(client_body(phone="010 6552 9988"), "phone", id="landline-not-mobile"),
            pytest.param(client_body(birth_date=TOMORROW), "birth_date", id="birth-date-in-future"),
            pytest.param(client_body(occupation_class=0), "occupation_class", id="occupation-class-0"),
            pytest.param(client_body(occupation_class=7), "occupation_class", id="occupation-class-7"),
            pytest.param(client_body(channel="referral"), "referred_by_client_id", id="referral-no-referrer"),
            pytest.param(
                client_body(referred_by_client_id=str(uuid.uuid4())),
                "referred_by_client_id",
                id="referrer-without-referral-channel",
            ),
            pytest.param(
                client_body(channel="referral", referred_by_client_id=str(uuid.uuid4())),
                "referred_by_client_id",
                id="referrer-does-not-exist",
            ),
            pytest.param(
                client_body(resident_id=resident_id("19900307"), birth_date="1990-03-08"),
                "birth_date",
                id="birth-date-disagrees-with-resident-id",
            ),
        ],
    )
    async def test_bad_body_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        response = await api.post(CLIENTS, json=body, headers=people.agent.headers)

        assert_problem(response, 422, field=field)
        assert await count_clients(stack) == 0
        assert await count_audit(stack) == 0

    async def test_malformed_json_is_400_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(
            CLIENTS,
            content=b'{"name": "Li", "channel": ',
            headers={**people.agent.headers, "Content-Type": "application/json"},
        )

        problem = assert_problem(response, 400)
        assert "the body must be JSON; malformed at line 1, column 27" in problem["detail"]
        assert await count_clients(stack) == 0

    async def test_body_that_is_not_an_object_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(CLIENTS, json=["Li", "cold"], headers=people.agent.headers)

        assert_problem(response, 422)
        assert await count_clients(stack) == 0

    async def test_referral_to_a_client_the_caller_cannot_see_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        theirs = await create_client(api, people.outsider)
        audit_before = await count_audit(stack)

        response = await api.post(
            CLIENTS,
            json=client_body(channel="referral", referred_by_client_id=theirs["id"]),
            headers=people.agent.headers,
        )

        problem = assert_problem(response, 422, field="referred_by_client_id")
        assert "no such client" in problem["errors"][0]["message"]
        assert await count_clients(stack) == 1
        assert await count_audit(stack) == audit_before

    async def test_referral_to_a_deleted_client_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        gone = await create_client(api, people.agent)
        deleted = await api.delete(
            f"{CLIENTS}/{gone['id']}", headers={**people.agent.headers, "If-Match": 'W/"1"'}
        )
        assert deleted.status_code == 204

        response = await api.post(
            CLIENTS,
            json=client_body(channel="referral", referred_by_client_id=gone["id"]),
            headers=people.agent.headers,
        )

        assert_problem(response, 422, field="referred_by_client_id")
        assert await count_clients(stack) == 1

    async def test_too_large_body_is_413_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(
            CLIENTS, json=client_body(notes="x" * 2_000_000), headers=people.agent.headers
        )

        assert_problem(response, 413)
        assert await count_clients(stack) == 0

    async def test_without_a_token_is_401_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(CLIENTS, json=client_body())

        assert_problem(response, 401)
        assert await count_clients(stack) == 0
