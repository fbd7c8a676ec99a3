"""In staging and production, ``/metrics`` and the detail of ``/readyz`` are not public (issue 14,
finding 7): they answer only to the ops token; ``/healthz`` and readiness's status stay open for
load balancers and Kubernetes probes."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Stack

OPS_TOKEN = "ops-token-for-the-scraper-0123456789"


@pytest.fixture
def production(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for app in stack.apps.values():
        monkeypatch.setattr(app.state.settings, "environment", "production")
        monkeypatch.setattr(app.state.settings, "ops_token", OPS_TOKEN)


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize("app", ["gateway", "clients", "devices"])
class TestInProduction:
    async def test_metrics_answer_only_to_the_ops_token(self, stack: Stack, app: str) -> None:
        async with stack.client(app) as client:
            anonymous = await client.get("/metrics")
            with_a_user_token = await client.get("/metrics", headers={"Authorization": "Bearer someone"})
            scraper = await client.get("/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"})

        assert anonymous.status_code == 404
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert with_a_user_token.status_code == 404
        assert scraper.status_code == 200
        assert "http_requests" in scraper.text or "# HELP" in scraper.text

    async def test_readiness_shows_its_detail_only_to_the_ops_token(self, stack: Stack, app: str) -> None:
        async with stack.client(app) as client:
            public = await client.get("/readyz")
            detailed = await client.get("/readyz", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
            alive = await client.get("/healthz")

        assert public.status_code == 200
        assert public.json() == {"status": "ok", "service": app}
        assert "database" in detailed.json()["checks"]
        assert alive.status_code == 200


async def test_in_production_without_an_ops_token_metrics_are_closed(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.apps["gateway"].state.settings, "environment", "production")
    async with stack.client("gateway") as client:
        response = await client.get("/metrics", headers={"Authorization": "Bearer "})

    assert response.status_code == 404


async def test_in_development_they_are_open(stack: Stack, api: httpx.AsyncClient) -> None:
    assert (await api.get("/metrics")).status_code == 200
    assert "checks" in (await api.get("/readyz")).json()
