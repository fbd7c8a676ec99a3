"""The conventions every app shares (crmkit), exercised on real apps against real PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from crmkit.app import create_service_app
from crmkit.db import SessionDep
from services.devices.config import Settings as DevicesSettings
from services.devices.main import MIGRATIONS as DEVICES_MIGRATIONS
from services.devices.models import infra_tables as devices_infra
from services.devices.models import metadata as devices_metadata
from tests.conftest import People, Stack

PROBLEM = "application/problem+json"
SERVICES = ("clients", "policies", "claims", "devices", "documents")


class TestHealth:
    @pytest.mark.parametrize("service", [*SERVICES, "gateway"])
    async def test_healthz_answers_without_io(self, stack: Stack, service: str) -> None:
        async with stack.client(service) as client:
            response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "service": service}

    @pytest.mark.parametrize("service", SERVICES)
    async def test_readyz_reports_database_and_migration_head(self, stack: Stack, service: str) -> None:
        async with stack.client(service) as client:
            response = await client.get("/readyz")
        assert response.status_code == 200
        database = response.json()["checks"]["database"]
        assert database["status"] == "ok"
        assert database["revision"] == database["head"]
        assert database["head"] is not None

    async def test_metrics_count_requests_by_route_template(self, stack: Stack) -> None:
        async with stack.client("policies") as client:
            await client.get("/healthz")
            await client.get(f"/no-such-thing/{uuid.uuid4()}")
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert 'http_requests_total{method="GET",route="/healthz",service="policies",status="200"}' in text
        assert 'route="<unmatched>"' in text  # ids never become label values
        assert "http_request_duration_seconds_bucket" in text


class TestRequestId:
    async def test_generated_when_absent(self, stack: Stack) -> None:
        async with stack.client("claims") as client:
            response = await client.get("/healthz")
        assert len(response.headers["x-request-id"]) == 32

    async def test_accepted_and_echoed_in_errors(self, stack: Stack) -> None:
        async with stack.client("claims") as client:
            response = await client.get("/nowhere", headers={"X-Request-ID": "trace-123"})
        assert response.headers["x-request-id"] == "trace-123"
        assert response.json()["request_id"] == "trace-123"

    async def test_unsafe_value_is_replaced(self, stack: Stack) -> None:
        async with stack.client("claims") as client:
            response = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert response.headers["x-request-id"] != "bad id\twith spaces"


class TestProblemResponses:
    async def test_unknown_route_is_a_404_problem(self, stack: Stack) -> None:
        async with stack.client("devices") as client:
            response = await client.get("/api/v1/devices/nothing/here")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == 404
        assert body["title"] == "Not found"
        assert body["instance"] == "/api/v1/devices/nothing/here"

    async def test_wrong_method_is_a_405_problem(self, stack: Stack) -> None:
        async with stack.client("devices") as client:
            response = await client.delete("/healthz")
        assert response.status_code == 405
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["allow"] == "GET"

    async def test_too_large_body_is_a_413_problem(self, stack: Stack) -> None:
        async with stack.client("devices") as client:
            response = await client.post("/healthz", content=b"x" * 2_000_000)
        assert response.status_code == 413
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["request_id"] == response.headers["x-request-id"]


@contextlib.asynccontextmanager
async def crashing_app(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        resident_id = "".join(["110101", "1990", "03071234"])  # built at run time, absent from the source
        raise RuntimeError(f"secret internals: {resident_id}")

    async with one_router_app(database_url, router, name="crash") as client:
        yield client


@contextlib.asynccontextmanager
async def one_router_app(
    database_url: str, router: APIRouter, *, name: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A service app (the devices service's tables) serving only ``router``, with its lifespan."""
    app = create_service_app(
        settings=DevicesSettings(database_url=database_url, environment="test", revocation_poll_seconds=0),
        metadata=devices_metadata,
        infra_tables=devices_infra,
        migrations_dir=DEVICES_MIGRATIONS,
        routers=[router],
        title=name,
        description=f"a test app: {name}",
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield client


class TestUnhandledErrors:
    async def test_500_is_a_problem_with_request_id_and_no_internals(
        self, stack: Stack, capfd: pytest.CaptureFixture[str]
    ) -> None:
        async with crashing_app(stack.database_url) as client:
            response = await client.get("/boom", headers={"X-Request-ID": "crash-1"})
        assert response.status_code == 500
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["request_id"] == "crash-1"
        assert "secret internals" not in response.text
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"] == "crash-1"
        logged = capfd.readouterr().out
        assert '"error_type": "RuntimeError"' in logged
        assert "110101199003071234" not in logged  # the message may quote personal data: never logged


class TestAllowHeader:
    async def test_405_names_every_method_served_at_the_path(self, api: httpx.AsyncClient) -> None:
        # GET and POST /api/v1/teams are two routes; Starlette alone would name only the first.
        response = await api.put("/api/v1/teams")
        assert response.status_code == 405
        assert response.headers["content-type"] == PROBLEM
        assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


class TestTextPostgresCannotStore:
    """JSON allows ``\\u0000`` in a string; PostgreSQL text does not. A 422, never a 500."""

    async def test_a_nul_character_in_a_client_name_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(
            "/api/v1/clients",
            json={"name": "Wang\u0000Fang", "channel": "cold"},
            headers=people.agent.headers,
        )

        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "NUL" in response.json()["detail"]
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.clients"))[0]["n"] == 0

    async def test_a_nul_character_in_an_api_key_name_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        keys = "SELECT count(*) AS n FROM identity.api_keys"
        before = (await stack.fetch(keys))[0]["n"]

        response = await api.post(
            "/api/v1/api-keys",
            json={"name": "\u0000key", "user_id": str(people.agent.user_id), "scopes": ["clients:read"]},
            headers=people.admin.headers,
        )

        assert response.status_code == 422, response.text
        assert (await stack.fetch(keys))[0]["n"] == before


@contextlib.asynccontextmanager
async def app_without_connections(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database role may open no connection (CONNECTION LIMIT 0): PostgreSQL refuses
    each with 53300, as it does every connection past ``max_connections``."""
    role = f"crm_no_slots_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    router = APIRouter()

    @router.get("/read")
    async def read(session: SessionDep) -> int:
        return int((await session.execute(text("SELECT 1"))).scalar_one())

    @router.post("/write", status_code=201)
    async def write(session: SessionDep) -> int:
        return int((await session.execute(text("SELECT 1"))).scalar_one())

    scheme, rest = stack.database_url.split("://", 1)
    url = f"{scheme}://{role}@{rest.split('@', 1)[-1]}"
    try:
        async with one_router_app(url, router, name="busy") as client:
            yield client
    finally:
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


class TestDatabaseBusy:
    async def test_a_refused_connection_is_a_503_with_retry_after_not_a_500(self, stack: Stack) -> None:
        async with app_without_connections(stack) as client:
            read = await client.get("/read", headers={"X-Request-ID": "busy-1"})
            # The idempotency middleware opens its session before the route: refused there too.
            write = await client.post("/write", headers={"Idempotency-Key": "busy-write"})
        for response in (read, write):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["retry-after"] == "1"
            assert response.json()["type"].endswith("/service-unavailable")
        assert read.json()["request_id"] == "busy-1"
