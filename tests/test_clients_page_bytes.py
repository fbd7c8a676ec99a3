"""The client list's page is written straight from the rows (``services/clients/pages.py``): its
bytes must be exactly those of the response model, ``ClientPage`` of ``ClientRead``, for the same
rows: field order, masked identifiers, ``Z`` timestamps, dates, nulls and the cursor."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crmkit.auth import Principal
from services.clients import service
from services.clients.repository import ClientFilters
from services.clients.schemas import ClientSort
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


async def model_bytes(stack: Stack, person: Person, query: dict[str, Any]) -> bytes:
    """The page ``ClientPage`` serialises for the same query on the same rows."""
    filters = ClientFilters(
        channel=query.get("channel"), tier=query.get("tier"), name_prefix=query.get("name_prefix")
    )
    async with stack.apps["clients"].state.read_engine.connect() as connection:
        page = await service.list_clients(
            session=connection,
            principal=principal_of(person),
            filters=filters,
            sort=ClientSort(query.get("sort", "recent")),
            limit=query["limit"],
            cursor=query.get("cursor"),
        )
    return page.__pydantic_serializer__.to_json(page, by_alias=True)


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
    query = {**query, "limit": 2}
    pages = 0
    while True:
        response = await api.get(CLIENTS, params=query, headers=people.agent.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.content == await model_bytes(stack, people.agent, query)
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        query["cursor"] = cursor
    assert pages >= 1


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
