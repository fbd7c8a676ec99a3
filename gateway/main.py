"""The gateway: identity, routing to the services, merged OpenAPI, readiness and rate limits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware

from crmkit.app import AppHook, create_service_app
from crmkit.balancing import balanced
from crmkit.http import pooled_client, pooled_transport
from gateway import docs
from gateway.api_key_auth import ApiKeyResolver
from gateway.config import Settings, get_settings
from gateway.forwarding import AiohttpUpstreams, TransportUpstreams
from gateway.identity.models import infra_tables, metadata
from gateway.identity.revocations import FeedAnswers, local_revocations
from gateway.identity.router import router as identity_router
from gateway.openapi_merge import OpenApiMerger
from gateway.proxy import ProxyMiddleware
from gateway.rate_limit import RateLimiter, RateLimitMiddleware
from gateway.readiness import upstreams_check
from gateway.views.agenda_cache import agenda_cache_hook
from gateway.views.compliance_router import router as compliance_router
from gateway.views.router import router as views_router
from gateway.webhooks.dispatcher import dispatcher_hook
from gateway.webhooks.router import router as webhooks_router

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_UPSTREAM_CONNECTIONS = 200
_DEFAULT_DOC_PATHS = frozenset({"/openapi.json"})
"""Replaced by the merged document (gateway/docs.py); /docs and /redoc read it (crmkit/docs.py)."""


def _edge_hook(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> AppHook:
    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        upstream = balanced(
            transport or pooled_transport(max_connections=MAX_UPSTREAM_CONNECTIONS),
            settings.replicas,
            on_retry=app.state.metrics.retried,
        )
        client = pooled_client(
            timeout_seconds=settings.upstream_timeout_seconds,
            transport=upstream,
            max_connections=MAX_UPSTREAM_CONNECTIONS,
        )
        app.state.upstream_client = client
        app.state.upstreams = (
            TransportUpstreams(upstream, client.timeout)
            if transport is not None
            else AiohttpUpstreams(
                timeout_seconds=settings.upstream_timeout_seconds,
                max_connections=MAX_UPSTREAM_CONNECTIONS,
                replicas=settings.replicas,
                on_retry=app.state.metrics.retried,
            )
        )
        app.state.api_key_resolver = ApiKeyResolver(settings, app.state.sessions)
        app.state.openapi_merger = OpenApiMerger(
            app, client, settings.upstream_urls(), settings.readiness_timeout_seconds
        )
        app.state.rate_limiter = RateLimiter.from_settings(settings)
        try:
            yield
        finally:
            await app.state.upstreams.aclose()
            await client.aclose()

    return hook


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        settings=settings,
        metadata=metadata,
        infra_tables=infra_tables,
        migrations_dir=MIGRATIONS,
        routers=[identity_router, views_router, compliance_router, webhooks_router],
        title="Gateway",
        description="Insurance agent CRM: sign-in, users, teams, API keys, and the services behind one door.",
        hooks=[_edge_hook(settings, transport), dispatcher_hook(settings), agenda_cache_hook(settings)],
        revocations=local_revocations,
        peers_only=False,
        edge_middleware=[Middleware(RateLimitMiddleware)],
        routing_middleware=[Middleware(ProxyMiddleware, upstreams=settings.upstream_urls())],
        file_upload_paths=("/api/v1/documents",),
    )
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in _DEFAULT_DOC_PATHS
    ]
    app.include_router(docs.router)
    app.state.readiness_checks["upstreams"] = upstreams_check(app)
    app.state.revocation_feed = FeedAnswers()
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "X-Request-ID",
                "Idempotent-Replayed",
                "X-CRM-Read-After",  # read-your-writes across a service's processes (docs/replicas.md)
            ],
        )
    return app


app = create_app()
