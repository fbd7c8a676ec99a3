"""The gateway as the front door: proxying, request ids, outages, OpenAPI, readiness, limits."""

from __future__ import annotations

import httpx
import pytest

from crmkit.testing import MeshTransport
from gateway.main import create_app
from tests.conftest import People, Stack, build_apps, running
from tests.test_gateway_auth import assert_problem


class TestProxy:
    async def test_request_id_travels_to_the_service_and_back(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(
            "/api/v1/clients?limit=5", headers={**people.agent.headers, "X-Request-ID": "trace-42"}
        )

        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == "trace-42"
        assert response.headers.get_list("x-request-id") == ["trace-42"]
        assert response.json()["items"] == []
        metrics = (await api.get("/metrics")).text
        assert 'route="/api/v1/clients/{path:path}"' in metrics

    async def test_service_errors_come_back_unchanged(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            "/api/v1/clients?limit=0", headers={**people.agent.headers, "X-Request-ID": "r-1"}
        )

        body = assert_problem(response, 422)
        assert body["request_id"] == "r-1"

    async def test_a_created_resource_keeps_its_status_and_headers(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        response = await api.post(
            "/api/v1/clients",
            json={"name": "张三", "channel": "cold"},
            headers={**people.agent.headers, "Idempotency-Key": "c-1"},
        )

        assert response.status_code == 201, response.text
        assert response.headers["etag"]
        again = await api.post(
            "/api/v1/clients",
            json={"name": "张三", "channel": "cold"},
            headers={**people.agent.headers, "Idempotency-Key": "c-1"},
        )
        assert again.headers["idempotent-replayed"] == "true"
        assert len(await stack.fetch("SELECT id FROM clients.clients")) == 1
        assert await stack.fetch("SELECT key FROM identity.idempotency_keys") == []

    async def test_no_token_is_refused_by_the_service(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get("/api/v1/clients"), 401)

    async def test_downed_service_is_503_problem(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        stack.mesh.down.add("clients.internal")

        body = assert_problem(await api.get("/api/v1/clients", headers=people.agent.headers), 503)

        assert "clients" in str(body["detail"])

    async def test_slow_service_is_504_problem(self, stack: Stack, people: People) -> None:
        class TimingOut(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                raise httpx.ReadTimeout("too slow", request=request)

        gateway = create_app(stack.apps["gateway"].state.settings, transport=TimingOut())
        async with running({"gateway": gateway}):
            transport = httpx.ASGITransport(app=gateway)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
                response = await client.get("/api/v1/policies/anything", headers=people.agent.headers)

        assert_problem(response, 504)

    async def test_too_large_body_is_413_problem(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.post("/api/v1/clients", content=b"x" * 2_000_000, headers=people.agent.headers)

        assert_problem(response, 413)

    async def test_gateway_routes_are_not_shadowed(self, api: httpx.AsyncClient, people: People) -> None:
        assert (await api.get("/api/v1/me", headers=people.agent.headers)).status_code == 200
        assert_problem(await api.get("/api/v1/nowhere", headers=people.agent.headers), 404)


class TestOpenApi:
    async def test_merged_document_has_gateway_and_service_paths(
        self, api: httpx.AsyncClient, stack: Stack
    ) -> None:
        stack.apps["gateway"].state.openapi_merger.forget()

        document = (await api.get("/openapi.json")).json()

        assert "/api/v1/auth/token" in document["paths"]
        assert "/api/v1/clients" in document["paths"]
        assert "/api/v1/clients/{client_id}" in document["paths"]
        assert "/readyz" in document["paths"]  # the gateway's own
        assert "ClientCreate" in document["components"]["schemas"]
        assert {"HTTPBearer", "ApiKey"} <= set(document["components"]["securitySchemes"])
        assert "x-unavailable-services" not in document["info"]

    async def test_down_service_is_skipped_and_named(self, api: httpx.AsyncClient, stack: Stack) -> None:
        stack.apps["gateway"].state.openapi_merger.forget()
        stack.mesh.down.add("clients.internal")

        document = (await api.get("/openapi.json")).json()

        assert document["info"]["x-unavailable-services"] == ["clients"]
        assert "/api/v1/clients" not in document["paths"]
        assert "/api/v1/auth/token" in document["paths"]

    async def test_docs_page_serves_swagger_ui(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/docs")

        assert response.status_code == 200
        assert "/openapi.json" in response.text


class TestReadiness:
    async def test_readyz_reports_every_upstream(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/readyz")

        assert response.status_code == 200, response.text
        services = response.json()["checks"]["upstreams"]["services"]
        assert set(services) == {
            "clients",
            "policies",
            "claims",
            "devices",
            "documents",
            "tasks",
            "performance",
        }
        assert all(s["status"] == "ok" and s["latency_ms"] >= 0 for s in services.values())

    async def test_readyz_names_a_downed_upstream_and_stays_in_rotation(
        self, api: httpx.AsyncClient, stack: Stack
    ) -> None:
        stack.mesh.down.add("claims.internal")

        response = await api.get("/readyz")

        assert response.status_code == 200
        upstreams = response.json()["checks"]["upstreams"]
        assert upstreams["status"] == "degraded"
        services = upstreams["services"]
        assert services["claims"]["status"] == "down"
        assert services["policies"]["status"] == "ok"


class TestRateLimit:
    @pytest.fixture
    def limited(self, stack: Stack) -> dict[str, object]:
        mesh = MeshTransport()
        apps = build_apps(stack.database_url, mesh, rate_limit="3/minute")
        for name, app in apps.items():
            mesh.register(f"{name}.internal", app)
        return dict(apps)

    async def test_fourth_request_in_a_minute_is_429_with_retry_after(
        self, limited: dict[str, object], people: People
    ) -> None:
        apps = limited
        async with running(apps):  # type: ignore[arg-type]
            transport = httpx.ASGITransport(app=apps["gateway"])  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
                answers = [await client.get("/api/v1/me", headers=people.agent.headers) for _ in range(4)]
                other_caller = await client.get("/api/v1/me", headers=people.lead.headers)
                health = await client.get("/healthz")

        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert_problem(answers[3], 429)
        assert 1 <= int(answers[3].headers["retry-after"]) <= 60
        assert other_caller.status_code == 200
        assert health.status_code == 200
