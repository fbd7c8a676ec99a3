"""The client list's page is written by PostgreSQL (``services/clients/pages.py``): its bytes must be
exactly those of the response model, ``ClientPage`` of ``ClientRead``, for the same rows: field
order, masked identifiers, ``Z`` timestamps with and without microseconds, dates, nulls, string
escapes and the cursor, for every scope, filter and sort, whatever the session's settings."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from crmkit.auth import Principal
from crmkit.settings import asyncpg_url
from services.clients import service
from services.clients.identifiers import lookup_hash
from services.clients.repository import ClientFilters
from services.clients.schemas import ClientSort, normalise_mobile_phone
from tests.clients_support import CLIENTS, create_client, resident_id
from tests.conftest import People, Person, Stack
from tests.test_clients_tiering import assess, scores


@pytest.fixture
async def book(api: httpx.AsyncClient, people: People) -> None:
    """Clients with every kind of field set and unset: a resident ID and a phone, a passport, a
    referral, a tier, none of these."""
    full = await create_client(
        api,
        people.agent,
        name="张伟",
        gender="male",
        resident_id=resident_id("19850612"),
        phone="138 1234 5678",
        occupation="教师",
        occupation_class=1,
        notes='学校开放日认识 "引号" \\ 和 \n 换行',
    )
    await assess(api, people.agent, full["id"], scores(5, 5, 5))
    await create_client(
        api,
        people.agent,
        name="Jane Doe",
        id_document_type="passport",
        id_document_number="E12345678",
        id_document_country="GBR",
        birth_date="1990-03-07",
    )
    await create_client(
        api, people.agent, name="Zhang Min", channel="referral", referred_by_client_id=full["id"]
    )
    sparse = await create_client(api, people.agent, name="zhao lei", gender="undisclosed", channel="online")
    await assess(api, people.agent, sparse["id"], scores(1, 1, 1))


def principal_of(person: Person) -> Principal:
    return Principal(user_id=person.user_id, role=person.role, team_id=person.team_id)


def filters_of(stack: Stack, query: dict[str, Any]) -> ClientFilters:
    """The filters the router makes of ``query`` (the phone by its keyed hash, as it searches)."""
    owner, due, phone = query.get("owner_agent_id"), query.get("follow_up_due_by"), query.get("phone")
    cipher = stack.apps["clients"].state.cipher
    return ClientFilters(
        owner_agent_id=uuid.UUID(owner) if owner else None,
        channel=query.get("channel"),
        tier=query.get("tier"),
        name_prefix=query.get("name_prefix"),
        phone_hmac=lookup_hash(cipher, "phone", normalise_mobile_phone(phone)) if phone else None,
        follow_up_due_by=date.fromisoformat(due) if due else None,
    )


async def model_bytes(stack: Stack, person: Person, query: dict[str, Any]) -> bytes:
    """The page ``ClientPage`` serialises for the same query on the same rows."""
    async with stack.apps["clients"].state.read_engine.connect() as connection:
        page = await service.list_clients(
            session=connection,
            principal=principal_of(person),
            filters=filters_of(stack, query),
            sort=ClientSort(query.get("sort", "recent")),
            limit=query["limit"],
            cursor=query.get("cursor"),
        )
    return page.__pydantic_serializer__.to_json(page, by_alias=True)


async def every_page(
    api: httpx.AsyncClient, stack: Stack, person: Person, query: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every page of ``query`` through the API, each checked against the model's bytes."""
    query = dict(query)
    pages: list[dict[str, Any]] = []
    while True:
        response = await api.get(CLIENTS, params=query, headers=person.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.content == await model_bytes(stack, person, query)
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        query["cursor"] = cursor


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"channel": "referral"},
        {"sort": "tier"},
        {"sort": "follow_up"},
        {"name_prefix": "zh"},
        {"tier": "A", "channel": "warm_market"},
    ],
    ids=["recent", "channel", "tier-sort", "follow-up-sort", "name-prefix", "tier-and-channel"],
)
async def test_every_page_is_the_response_models_bytes(
    api: httpx.AsyncClient, people: People, stack: Stack, book: None, query: dict[str, Any]
) -> None:
    pages = await every_page(api, stack, people.agent, {**query, "limit": 2})
    assert pages[0]["items"]


async def test_a_page_shows_masked_identifiers_and_utc_times(
    api: httpx.AsyncClient, people: People, book: None
) -> None:
    response = await api.get(CLIENTS, params={"name_prefix": "张"}, headers=people.agent.headers)
    (item,) = response.json()["items"]
    assert item["resident_id"] == item["id_document_number"]
    assert "*" in item["resident_id"]
    assert "*" in item["phone"]
    assert item["created_at"].endswith("Z")
    assert list(item) == [
        "id", "name", "gender", "birth_date", "id_document_type", "id_document_number",
        "id_document_country", "resident_id", "phone", "occupation", "occupation_class", "channel",
        "referred_by_client_id", "notes", "tier", "next_follow_up_on", "owner_agent_id", "team_id",
        "version", "created_at", "updated_at",
    ]  # fmt: skip


# Every character a JSON string must escape (the control characters, the quote, the backslash) and
# some it must not (the slash, DEL, U+2028, a character outside the BMP, CJK).
ESCAPES = "".join(chr(code) for code in range(1, 0x20)) + '"\\/\x7f\u2028\U0001f600中文'


@pytest.fixture
async def odd_book(api: httpx.AsyncClient, people: People, stack: Stack, book: None) -> None:
    """``book``'s clients, with what the API does not make but the columns may hold: timestamps on
    the second, with trailing zeros in the microseconds and with one microsecond; text with every
    character JSON escapes; early and late dates; and follow-up dates for the follow-up lists. A
    colleague's and another team's clients, for the lead's and the admin's scopes."""
    await create_client(api, people.colleague, name="Colleague Client", phone="139 0000 1111")
    await create_client(api, people.outsider, name="South Client", channel="cold")
    await stack.fetch(
        """
        UPDATE clients.clients SET
            created_at = date_trunc('second', created_at) + CASE name
                WHEN 'Jane Doe' THEN interval '0.12 s' WHEN 'Zhang Min' THEN interval '1 microsecond'
                ELSE interval '0' END,
            updated_at = timestamptz '2000-02-29 23:59:59.9+08',
            next_follow_up_on = CASE name
                WHEN '张伟' THEN date '2030-12-31' WHEN 'Jane Doe' THEN date '1999-01-01' END
        """
    )
    await stack.fetch(
        "UPDATE clients.clients SET name = $1, notes = $1, occupation = $2 WHERE name = 'zhao lei'",
        ESCAPES,
        "教师 \\ \t",
    )
    await stack.fetch("UPDATE clients.clients SET birth_date = date '1900-01-01' WHERE name = 'Zhang Min'")


SCOPES = ["agent", "lead", "admin"]


@pytest.mark.parametrize("who", SCOPES)
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"sort": "tier"},
        {"sort": "follow_up"},
        {"follow_up_due_by": "2031-01-01", "sort": "follow_up"},
        {"follow_up_due_by": "2031-01-01"},
        {"phone": "138 1234 5678"},
        {"name_prefix": "col"},
        {"name_prefix": "nobody"},
    ],
    ids=["recent", "tier-sort", "follow-up-sort", "follow-ups-due", "due-recent", "phone", "prefix", "none"],
)
async def test_odd_values_scopes_and_filters_give_the_models_bytes(
    api: httpx.AsyncClient, people: People, stack: Stack, odd_book: None, who: str, query: dict[str, Any]
) -> None:
    person: Person = getattr(people, who)
    for limit in (1, 2, 50):
        await every_page(api, stack, person, {**query, "limit": limit})


async def test_an_owner_filter_pages_as_the_model_does(
    api: httpx.AsyncClient, people: People, stack: Stack, odd_book: None
) -> None:
    query = {"owner_agent_id": str(people.colleague.user_id), "limit": 1}
    (page,) = await every_page(api, stack, people.admin, query)
    assert [item["name"] for item in page["items"]] == ["Colleague Client"]


async def test_an_empty_page_and_a_last_page_have_no_cursor(
    api: httpx.AsyncClient, people: People, stack: Stack, odd_book: None
) -> None:
    (empty,) = await every_page(api, stack, people.agent, {"name_prefix": "nobody", "limit": 5})
    assert empty == {"items": [], "next_cursor": None}
    # Exactly a page's worth: the statement finds no row after it, so there is no next page.
    (full,) = await every_page(api, stack, people.agent, {"limit": 4})
    assert len(full["items"]) == 4


async def test_escapes_timestamps_and_dates_are_written_as_pydantic_writes_them(
    api: httpx.AsyncClient, people: People, stack: Stack, odd_book: None
) -> None:
    (page,) = await every_page(api, stack, people.agent, {"limit": 50})
    by_name = {item["name"]: item for item in page["items"]}
    assert by_name[ESCAPES]["notes"] == ESCAPES
    assert "." not in by_name["张伟"]["created_at"]
    assert by_name["张伟"]["created_at"].endswith("Z")
    assert by_name["Jane Doe"]["created_at"].endswith(".120000Z")
    assert by_name["Zhang Min"]["created_at"].endswith(".000001Z")
    assert by_name["Zhang Min"]["birth_date"] == "1900-01-01"
    assert by_name["张伟"]["updated_at"] == "2000-02-29T15:59:59.900000Z"
    assert by_name["Jane Doe"]["next_follow_up_on"] == "1999-01-01"
    assert by_name["Jane Doe"]["resident_id"] is None
    assert "*" in by_name["Jane Doe"]["id_document_number"]


@pytest.mark.parametrize(
    "settings",
    [
        {"TimeZone": "Asia/Shanghai", "DateStyle": "SQL, DMY"},
        {"TimeZone": "America/St_Johns", "DateStyle": "German"},
    ],
    ids=["shanghai-sql", "st-johns-german"],
)
async def test_the_sessions_time_zone_and_date_style_change_nothing(
    api: httpx.AsyncClient, people: People, stack: Stack, odd_book: None, settings: dict[str, str]
) -> None:
    query: dict[str, Any] = {"limit": 3, "sort": "follow_up"}
    engine = create_async_engine(
        asyncpg_url(stack.database_url), connect_args={"server_settings": settings}
    ).execution_options(isolation_level="AUTOCOMMIT")
    try:
        while True:
            async with engine.connect() as connection:
                page = await _page_on(connection, people.agent, query)
            response = await api.get(CLIENTS, params=query, headers=people.agent.headers)
            assert page == response.content == await model_bytes(stack, people.agent, query)
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
            query["cursor"] = cursor
    finally:
        await engine.dispose()


async def _page_on(connection: AsyncConnection, person: Person, query: dict[str, Any]) -> bytes:
    return await service.list_clients_json(
        connection=connection,
        principal=principal_of(person),
        filters=ClientFilters(),
        sort=ClientSort(query["sort"]),
        limit=query["limit"],
        cursor=query.get("cursor"),
    )
