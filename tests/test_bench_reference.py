"""The bench's reference app answers a GET by id with the clients service's bytes: the comparison in
``make bench`` is between two apps serving the same thing (no timing is asserted here)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from bench import reference_app
from tests.clients_support import CLIENTS, create_client, resident_id
from tests.conftest import People, Stack


@pytest.fixture
async def reference(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CRM_DATABASE_URL", stack.database_url)
    app = reference_app.app
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reference.internal") as client:
            yield client


class TestSameBytes:
    async def test_a_full_client_is_the_same_body_and_etag(
        self, api: httpx.AsyncClient, people: People, stack: Stack, reference: httpx.AsyncClient
    ) -> None:
        client = await create_client(
            api,
            people.agent,
            name="张伟",
            gender="male",
            resident_id=resident_id("19850612"),
            phone="138 1234 5678",
            occupation="教师",
            occupation_class=1,
            notes="学校开放日认识",
        )
        await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"notes": "换了工作"},
            headers={**people.agent.headers, "If-Match": 'W/"1"'},
        )
        async with stack.client("clients") as direct:
            service = await direct.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        mine = await reference.get(f"{CLIENTS}/{client['id']}")

        assert service.status_code == mine.status_code == 200
        assert mine.content == service.content
        assert mine.headers["etag"] == service.headers["etag"] == 'W/"2"'
        assert mine.headers["content-type"] == service.headers["content-type"]
        assert mine.json()["resident_id"] is not None  # masked, and shown in both

    async def test_a_sparse_client_with_a_passport_is_the_same_body(
        self, api: httpx.AsyncClient, people: People, stack: Stack, reference: httpx.AsyncClient
    ) -> None:
        client = await create_client(
            api,
            people.agent,
            name="Jane Doe",
            id_document_type="passport",
            id_document_number="E12345678",
            id_document_country="GBR",
            birth_date="1990-03-07",
        )
        async with stack.client("clients") as direct:
            service = await direct.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        mine = await reference.get(f"{CLIENTS}/{client['id']}")

        assert service.status_code == 200
        assert mine.content == service.content
        assert mine.json()["resident_id"] is None

    async def test_an_unknown_id_is_404(self, api: httpx.AsyncClient, reference: httpx.AsyncClient) -> None:
        response = await reference.get(f"{CLIENTS}/{uuid.uuid4()}")
        assert response.status_code == 404
