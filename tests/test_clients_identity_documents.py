"""A client's identity document: each type checked by its own rule, encrypted, masked, searchable.

Numbers below carry correct check digits (ISO 7064 MOD 11-2, computed by ``number()``) unless a
test is about a wrong one.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from stdnum.cn import ric

from crmkit.migrations import alembic_config, upgrade_to_head
from launcher.apps import SERVICES
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    client_body,
    count_audit,
    count_clients,
    create_client,
    if_match,
    wrong_check_digit,
)
from tests.conftest import People, Stack, _with_database

CLIENTS_APP = next(spec for spec in SERVICES if spec.name == "clients")
NUMBER = "id_document_number"


def number(body: str) -> str:
    """17 digits and their check digit."""
    return body + ric.calc_check_digit(body + "0")


PUDONG_1986 = "31011519860312001X"  # Pudong's code 310115 exists from 1992
DAXING_1990 = number("11011519900307123")  # Daxing's 110115 from 2001
CHONGMING_2001 = number("31015120010501456")  # Chongming's 310151 from 2016
HONG_KONG_PERMIT = number("81000019900307123")
MACAO_PERMIT = number("82000019850612456")
TAIWAN_PERMIT = number("83000019791224789")
FOREIGN_PERMANENT = number("91115619900307123")  # 9, Beijing (11), nationality 156, 1990-03-07


def document(kind: str, value: str, country: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id_document_type": kind, NUMBER: value, **extra}
    if country is not None:
        body["id_document_country"] = country
    return client_body(**body)


async def assert_refused(
    api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str, reason: str
) -> None:
    """422 naming the field, a message with the actual reason, and nothing stored."""
    response = await api.post(CLIENTS, json=body, headers=people.agent.headers)
    problem = assert_problem(response, 422, field=field)
    messages = " ".join(e["message"] for e in problem["errors"])
    assert reason in messages, problem
    assert await count_clients(stack) == 0
    assert await count_audit(stack) == 0


class TestResidentIdsOnceRefused:
    """The region code is where the number was assigned: it need not have existed in the birth year."""

    @pytest.mark.parametrize(
        ("resident_id", "born"),
        [
            pytest.param(PUDONG_1986, "1986-03-12", id="pudong-born-1986"),
            pytest.param(DAXING_1990, "1990-03-07", id="daxing-born-1990"),
            pytest.param(CHONGMING_2001, "2001-05-01", id="chongming-born-2001"),
        ],
    )
    async def test_accepted_with_the_birth_date_from_the_number(
        self, api: httpx.AsyncClient, people: People, resident_id: str, born: str
    ) -> None:
        client = await create_client(api, people.agent, **{NUMBER: resident_id})

        assert client["id_document_type"] == "resident_id"
        assert client["birth_date"] == born
        assert client[NUMBER] == resident_id[:3] + "*" * 11 + resident_id[-4:]
        assert client["resident_id"] == client[NUMBER]
        assert client["id_document_country"] is None

    async def test_accepted_through_the_deprecated_resident_id_field(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent, resident_id=PUDONG_1986.lower())

        assert client["id_document_type"] == "resident_id"
        assert client["birth_date"] == "1986-03-12"


class TestResidentIdRefused:
    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            pytest.param(wrong_check_digit(PUDONG_1986), "check digit", id="wrong-check-digit"),
            pytest.param(number("11010119900230123"), "impossible birth date 1990-02-30", id="30-february"),
            pytest.param(number("12345619900307123"), "unknown region code 123456", id="unknown-region"),
            pytest.param("3101151986031200", "18 characters", id="too-short"),
            pytest.param("31011519860312A01X", "17 digits and a check digit", id="letters"),
        ],
    )
    async def test_422_naming_the_reason_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, value: str, reason: str
    ) -> None:
        await assert_refused(api, people, stack, document("resident_id", value), NUMBER, reason)

    async def test_a_birth_date_in_the_future(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).strftime("%Y%m%d")
        value = number(f"110101{tomorrow}123")
        await assert_refused(api, people, stack, document("resident_id", value), NUMBER, "in the future")

    async def test_the_deprecated_field_names_the_same_reasons(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = client_body(resident_id=number("11010119900230123"))
        await assert_refused(api, people, stack, body, "resident_id", "impossible birth date")

    async def test_a_birth_date_that_disagrees_with_the_number(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = document("resident_id", PUDONG_1986, birth_date="1986-03-13")
        await assert_refused(api, people, stack, body, "birth_date", "1986-03-12")

    async def test_both_the_deprecated_and_the_new_field(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = document("resident_id", PUDONG_1986, resident_id=DAXING_1990)
        await assert_refused(api, people, stack, body, "resident_id", "not both")


class TestResidencePermit:
    @pytest.mark.parametrize("value", [HONG_KONG_PERMIT, MACAO_PERMIT, TAIWAN_PERMIT])
    async def test_810000_820000_830000_accepted(
        self, api: httpx.AsyncClient, people: People, value: str
    ) -> None:
        client = await create_client(api, people.agent, **document("hk_mo_tw_residence_permit", value))

        assert client["id_document_type"] == "hk_mo_tw_residence_permit"
        assert client["birth_date"] == f"{value[6:10]}-{value[10:12]}-{value[12:14]}"

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            pytest.param(number("84000019900307123"), "starts with 810000", id="other-prefix"),
            pytest.param(wrong_check_digit(HONG_KONG_PERMIT), "check digit", id="wrong-check-digit"),
            pytest.param(number("81000019900231123"), "impossible birth date", id="31-february"),
        ],
    )
    async def test_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, value: str, reason: str
    ) -> None:
        body = document("hk_mo_tw_residence_permit", value)
        await assert_refused(api, people, stack, body, NUMBER, reason)


class TestForeignPermanentResidenceId:
    async def test_2023_format_accepted(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(
            api, people.agent, **document("foreign_permanent_residence_id", FOREIGN_PERMANENT)
        )

        assert client["id_document_type"] == "foreign_permanent_residence_id"
        assert client["birth_date"] == "1990-03-07"
        assert client[NUMBER] == "911***********" + FOREIGN_PERMANENT[-4:]
        assert client["resident_id"] is None  # the deprecated field shows resident IDs only

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            pytest.param(wrong_check_digit(FOREIGN_PERMANENT), "check digit", id="wrong-check-digit"),
            pytest.param(number("90015619900307123"), "unknown province code 00", id="no-province"),
            pytest.param("USA110012345678", "18 characters", id="2017-format"),
        ],
    )
    async def test_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, value: str, reason: str
    ) -> None:
        body = document("foreign_permanent_residence_id", value)
        await assert_refused(api, people, stack, body, NUMBER, reason)


class TestPassport:
    async def test_number_and_country_accepted_country_as_alpha_3(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(
            api, people.agent, **document("passport", "e1234 5678", "cn", birth_date="1990-03-07")
        )

        assert client["id_document_type"] == "passport"
        assert client[NUMBER] == "E******78"
        assert client["id_document_country"] == "CHN"
        assert client["birth_date"] == "1990-03-07"  # a passport number carries no birth date
        assert client["resident_id"] is None

    @pytest.mark.parametrize(
        ("body", "field", "reason"),
        [
            pytest.param(
                document("passport", "E12345678"), "id_document_country", "issuing country", id="no-country"
            ),
            pytest.param(
                document("passport", "E12345678", "XYZ"),
                "id_document_country",
                "ISO 3166-1",
                id="unknown-country",
            ),
            pytest.param(
                document("passport", "E12!45678", "CHN"), NUMBER, "5 to 9 letters and digits", id="bad-chars"
            ),
            pytest.param(document("passport", "E1234567890", "CHN"), NUMBER, "5 to 9", id="too-long"),
            pytest.param(
                document("resident_id", PUDONG_1986, "CHN"),
                "id_document_country",
                "only a passport",
                id="country-on-id",
            ),
        ],
    )
    async def test_refused(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        body: dict[str, Any],
        field: str,
        reason: str,
    ) -> None:
        await assert_refused(api, people, stack, body, field, reason)


class TestAnotherTypesNumber:
    """A document type with another type's number format: 422 naming the type the number has."""

    @pytest.mark.parametrize(
        ("kind", "value", "country", "named"),
        [
            pytest.param("passport", PUDONG_1986, "CHN", "resident_id", id="resident-id-as-passport"),
            pytest.param(
                "resident_id", HONG_KONG_PERMIT, None, "hk_mo_tw_residence_permit", id="permit-as-id"
            ),
            pytest.param(
                "resident_id", FOREIGN_PERMANENT, None, "foreign_permanent_residence_id", id="fpr-as-id"
            ),
            pytest.param("hk_mo_tw_residence_permit", PUDONG_1986, None, "resident_id", id="id-as-permit"),
            pytest.param(
                "foreign_permanent_residence_id",
                TAIWAN_PERMIT,
                None,
                "hk_mo_tw_residence_permit",
                id="permit-as-fpr",
            ),
            pytest.param("resident_id", "E12345678", None, "passport", id="passport-as-id"),
        ],
    )
    async def test_refused_and_nothing_stored(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        kind: str,
        value: str,
        country: str | None,
        named: str,
    ) -> None:
        body = document(kind, value, country)
        await assert_refused(api, people, stack, body, NUMBER, f"send id_document_type {named}")

    async def test_a_type_without_a_number(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = client_body(id_document_type="passport", id_document_country="CHN")
        await assert_refused(api, people, stack, body, NUMBER, "required with id_document_type")


class TestStoredAndShown:
    async def test_encrypted_at_rest_and_masked_on_read(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, **document("passport", "G87654321", "DEU"))

        [row] = await stack.fetch("SELECT * FROM clients.clients WHERE id = $1", uuid.UUID(client["id"]))
        assert "G87654321" not in str(dict(row))
        assert row["id_document_type"] == "passport"
        assert row["id_document_country"] == "DEU"
        read = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        assert read.json()[NUMBER] == "G******21"
        listed = await api.get(CLIENTS, headers=people.agent.headers)
        assert [c[NUMBER] for c in listed.json()["items"]] == ["G******21"]

    async def test_a_passport_is_a_duplicate_only_with_the_same_issuing_country(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        german = await create_client(api, people.agent, **document("passport", "C01X00T47", "DEU", name="A"))
        french = await create_client(api, people.agent, **document("passport", "C01X00T47", "FRA", name="B"))
        german_again = await create_client(
            api, people.agent, **document("passport", "C01X00T47", "DE", name="C")
        )

        duplicates = await api.get(f"{CLIENTS}/duplicates", headers=people.agent.headers)
        assert duplicates.status_code == 200, duplicates.text
        pairs = {frozenset((p["client"]["id"], p["duplicate"]["id"])) for p in duplicates.json()["items"]}
        assert pairs == {frozenset((german["id"], german_again["id"]))}
        assert french["id"] not in {i for pair in pairs for i in pair}


class TestReveal:
    async def test_a_passport_number_revealed_with_a_reason_not_as_resident_id(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, **document("passport", "E12345678", "CHN"))
        reveal = f"{CLIENTS}/{client['id']}/reveal"

        shown = await api.post(
            reveal,
            json={"field": NUMBER, "reason": "insurer's application form"},
            headers=people.agent.headers,
        )
        audits = await count_audit(stack)
        as_resident_id = await api.post(
            reveal, json={"field": "resident_id", "reason": "insurer's form"}, headers=people.agent.headers
        )

        assert shown.status_code == 200, shown.text
        assert shown.json()["value"] == "E12345678"
        assert_problem(as_resident_id, 422, field="field")
        assert await count_audit(stack) == audits


class TestSearch:
    async def test_by_number_of_each_type(self, api: httpx.AsyncClient, people: People) -> None:
        pudong = await create_client(api, people.agent, name="Pudong", **{NUMBER: PUDONG_1986})
        permit = await create_client(
            api, people.agent, **document("hk_mo_tw_residence_permit", HONG_KONG_PERMIT, name="HK")
        )
        passport = await create_client(
            api, people.agent, **document("passport", "C01X00T47", "DEU", name="DE")
        )
        await create_client(api, people.agent, **document("passport", "C01X00T47", "FRA", name="FR"))

        async def found(**params: str) -> list[str]:
            response = await api.get(CLIENTS, params=params, headers=people.agent.headers)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["items"]]

        assert await found(id_document_number=PUDONG_1986.lower()) == [pudong["id"]]
        assert await found(resident_id=PUDONG_1986) == [pudong["id"]]
        assert await found(
            id_document_number=HONG_KONG_PERMIT, id_document_type="hk_mo_tw_residence_permit"
        ) == [permit["id"]]
        assert await found(
            id_document_number="C01X00T47", id_document_type="passport", id_document_country="DE"
        ) == [passport["id"]]

    async def test_a_malformed_number_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            CLIENTS, params={NUMBER: wrong_check_digit(PUDONG_1986)}, headers=people.agent.headers
        )
        assert_problem(response, 422, field=NUMBER)


class TestUpdate:
    async def test_a_resident_id_replaced_by_a_passport(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, **{NUMBER: PUDONG_1986})

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"id_document_type": "passport", NUMBER: "E12345678", "id_document_country": "CHN"},
            headers=if_match(people.agent, client["version"]),
        )

        assert response.status_code == 200, response.text
        updated = response.json()
        assert (updated["id_document_type"], updated[NUMBER], updated["id_document_country"]) == (
            "passport",
            "E******78",
            "CHN",
        )
        assert updated["birth_date"] == "1986-03-12"  # kept: a passport carries none

    async def test_a_bad_number_changes_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, **{NUMBER: PUDONG_1986})
        audits = await count_audit(stack)

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"id_document_type": "hk_mo_tw_residence_permit", NUMBER: DAXING_1990},
            headers=if_match(people.agent, client["version"]),
        )

        assert_problem(response, 422, field=NUMBER)
        [row] = await stack.fetch(
            "SELECT id_document_type, version FROM clients.clients WHERE id = $1", uuid.UUID(client["id"])
        )
        assert (row["id_document_type"], row["version"]) == ("resident_id", 1)
        assert await count_audit(stack) == audits

    async def test_a_null_number_removes_the_document(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, **document("passport", "E12345678", "CHN"))

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={NUMBER: None},
            headers=if_match(people.agent, client["version"]),
        )

        assert response.status_code == 200, response.text
        assert response.json()["id_document_type"] is None
        [row] = await stack.fetch(
            "SELECT resident_id_cipher, id_document_country FROM clients.clients WHERE id = $1",
            uuid.UUID(client["id"]),
        )
        assert (row["resident_id_cipher"], row["id_document_country"]) == (None, None)


class TestCsv:
    async def test_import_carries_the_type_and_defaults_to_resident_id(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        content = "\n".join(
            [
                "姓名,证件类型,证件号码,签发国",
                f"老王,,{PUDONG_1986},",
                f"陈生,港澳台居民居住证,{HONG_KONG_PERMIT},",
                "Hans,护照,C01X00T47,DE",
            ]
        )
        response = await api.post(
            f"{CLIENTS}/imports",
            content=content.encode(),
            params={"dry_run": "false", "consent_text_version": "2025-01"},
            headers={**people.agent.headers, "Content-Type": "text/csv"},
        )
        assert response.status_code in (200, 201, 202), response.text
        for _ in range(200):
            rows = await stack.fetch(
                "SELECT name, id_document_type, id_document_country FROM clients.clients ORDER BY name"
            )
            if len(rows) == 3:
                break
            await asyncio.sleep(0.05)
        assert {(r["name"], r["id_document_type"], r["id_document_country"]) for r in rows} == {
            ("老王", "resident_id", None),
            ("陈生", "hk_mo_tw_residence_permit", None),
            ("Hans", "passport", "DEU"),
        }

    async def test_import_refuses_another_types_number_row_by_row(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        content = (
            f"name,id_document_type,id_document_number\nA,passport,{PUDONG_1986}\nB,resident_id,E12345678\n"
        )
        response = await api.post(
            f"{CLIENTS}/imports",
            content=content.encode(),
            params={"dry_run": "true", "consent_text_version": "2025-01"},
            headers={**people.agent.headers, "Content-Type": "text/csv"},
        )

        assert response.status_code == 200, response.text
        report = response.json()
        assert report["rows_valid"] == 0
        assert {(e["row"], e["field"]) for e in report["errors"]} == {
            (2, "id_document_country"),
            (3, NUMBER),
        }
        assert await count_clients(stack) == 0

    async def test_export_carries_type_and_country(self, api: httpx.AsyncClient, people: People) -> None:
        await create_client(api, people.agent, **document("passport", "C01X00T47", "DEU"))

        response = await api.get(f"{CLIENTS}/export", headers=people.agent.headers)

        assert response.status_code == 200, response.text
        header, row = response.text.splitlines()[:2]
        columns = dict(zip(header.lstrip("\ufeff").split(","), row.split(","), strict=True))
        assert (columns["id_document_type"], columns[NUMBER], columns["id_document_country"]) == (
            "passport",
            "C******47",
            "DEU",
        )


def test_the_migration_gives_existing_documents_type_resident_id(server_url: str) -> None:
    name = f"crm_identity_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def in_database(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = _with_database(server_url, name)
        command.upgrade(alembic_config(CLIENTS_APP.migrations_dir, url), "clients_0004")
        with_id, without_id = uuid.uuid4(), uuid.uuid4()
        now = datetime.now(UTC)
        for client_id, cipher in ((with_id, b"sealed"), (without_id, None)):
            asyncio.run(
                in_database(
                    url,
                    "INSERT INTO clients.clients (id, owner_agent_id, name, gender, channel, version, "
                    "created_at, updated_at, resident_id_cipher, resident_id_hmac, resident_id_masked) "
                    "VALUES ($1, $2, 'Old', 'female', 'cold', 1, $3, $3, $4, $4, $5)",
                    client_id,
                    uuid.uuid4(),
                    now,
                    cipher,
                    "110***********1234" if cipher else None,
                )
            )

        upgrade_to_head(CLIENTS_APP.migrations_dir, url)

        rows = asyncio.run(
            in_database(url, "SELECT id, id_document_type, id_document_country FROM clients.clients")
        )
        assert {r["id"]: (r["id_document_type"], r["id_document_country"]) for r in rows} == {
            with_id: ("resident_id", None),
            without_id: (None, None),
        }
        with pytest.raises(asyncpg.CheckViolationError):
            asyncio.run(
                in_database(url, "UPDATE clients.clients SET id_document_type = NULL WHERE id = $1", with_id)
            )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
