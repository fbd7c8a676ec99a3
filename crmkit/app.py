"""``create_service_app``: the one place an app is wired (lifespan, middleware, errors, health)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import MetaData
from starlette.middleware import Middleware
from starlette.types import Message

from crmkit.body_limit import BodySizeLimitMiddleware
from crmkit.crypto import FieldCipher
from crmkit.db import create_engine, read_engine, session_factory
from crmkit.docs import docs_router
from crmkit.health import health_router
from crmkit.idempotency import IdempotencyMiddleware, purge_expired
from crmkit.infra_tables import InfraTables
from crmkit.memory_trim import trim_after_busy_spells
from crmkit.observability import Metrics, RequestContextMiddleware, configure_logging
from crmkit.openapi import install_problem_openapi
from crmkit.peer_auth import PeerOnlyMiddleware, sign_outbound_calls
from crmkit.problems import install_problem_handlers
from crmkit.replicas import ReadRouting, WriteFenceMiddleware, replica_lifespan
from crmkit.revisions import head_revision
from crmkit.revocations import Fetch, revocations_hook
from crmkit.settings import CommonSettings

log = logging.getLogger("crmkit.app")
PURGE_EVERY_SECONDS = 3600

AppHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]


async def _build_route_table(app: FastAPI) -> None:
    """Have FastAPI build its per-route request context now, not on the first request.

    FastAPI (0.16x) builds the effective context of every included route lazily, the first time
    a request walks the router; profiled, that cost the first caller after a start up to 1.5 s
    (bench/README.md, "Profile, then cut"). A request for a path no route matches walks them all;
    it goes to the router alone, past every middleware, and its 404 is dropped.
    """
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/-/build-route-table",
        "raw_path": b"/-/build-route-table",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "server": ("127.0.0.1", 0),
        "client": ("127.0.0.1", 0),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    await app.router(scope, receive, send)


def _freeze_startup_objects() -> None:
    """Move what startup built (routes, schemas, the OpenAPI documents, the pools) out of the
    cyclic collector's sight: they live as long as the process, and walking them in every full
    collection stalled requests for tens of milliseconds at p99."""
    gc.collect()
    gc.freeze()


NO_OPENTELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def create_service_app(
    *,
    settings: CommonSettings,
    metadata: MetaData,
    infra_tables: InfraTables,
    migrations_dir: Path,
    routers: Sequence[APIRouter],
    title: str,
    description: str,
    hooks: Sequence[AppHook] = (),
    revocations: Callable[[FastAPI], Fetch] | None = None,
    peers_only: bool = True,
    edge_middleware: Sequence[Middleware] = (),
    routing_middleware: Sequence[Middleware] = (),
    file_upload_paths: tuple[str, ...] = (),
) -> FastAPI:
    """Each service and the gateway call this; what differs between them is passed in.

    ``peers_only``: a service answers ``/api/v1`` only to the gateway and its peers where the
    settings require it (crmkit/peer_auth.py); the gateway, the public entry point, passes False.
    ``file_upload_paths``: path prefixes where a ``multipart/form-data`` body may reach
    ``settings.max_file_upload_bytes`` (documents).
    ``revocations`` says where the app learns of revoked tokens: by default from the gateway over
    HTTP (services); the gateway passes its own table.

    Middleware, outermost first: request context → ``edge_middleware`` (e.g. rate limits) → body
    size limit → ``routing_middleware`` (e.g. the gateway's proxy) → idempotency → routes.
    """
    assert metadata.schema
    if revocations is None:
        from crmkit.peers import gateway_revocations  # crmkit.peers builds on this module

        revocations = gateway_revocations
    hooks = [*hooks, revocations_hook(revocations, settings.revocation_poll_seconds)]
    sign_outbound_calls(settings)
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    metrics = Metrics(settings.service_name)
    # A read replica, when configured: heavy reads go there (crmkit/replicas.py).
    routing = ReadRouting(settings, metrics.registry) if settings.database_replica_url else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.read_engine = read_engine(engine)
        app.state.read_sessions = session_factory(app.state.read_engine)
        # Personal data is sealed with one key per deployment; every app may need it.
        app.state.cipher = FieldCipher(settings.field_encryption_key)
        purger = asyncio.create_task(_purge_forever(app))
        trimmer = asyncio.create_task(trim_after_busy_spells(settings.memory_trim_seconds))
        try:
            async with contextlib.AsyncExitStack() as stack:
                if routing is not None:
                    await stack.enter_async_context(replica_lifespan(routing))
                for hook in hooks:
                    await stack.enter_async_context(hook(app))
                await _build_route_table(app)
                _freeze_startup_objects()
                yield
        finally:
            for task in (purger, trimmer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        # No redirect to add or drop a trailing slash: a 404 names the right path instead
        # (crmkit/problems.py); behind the gateway a redirect named an internal address.
        redirect_slashes=False,
        # Swagger UI and ReDoc from packaged assets, never a CDN (crmkit/docs.py).
        docs_url=None,
        redoc_url=None,
        # FastAPI's built-in OpenTelemetry layer asked the environment for a tracer, meter and logger
        # provider on every request (a tenth of a service's CPU under load) and, when one is set,
        # records exception messages, which may hold personal data. Metrics are Prometheus (/metrics),
        # logs are ours (structlog, no personal data).
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.settings = settings
    app.state.schema = metadata.schema
    app.state.infra_tables = infra_tables
    app.state.expected_head = head_revision(migrations_dir)
    app.state.readiness_checks = {}
    app.state.metrics = metrics
    app.state.read_routing = routing
    if routing is not None:
        app.state.readiness_checks["replica"] = routing.status

    install_problem_handlers(app)
    install_problem_openapi(app)
    app.include_router(health_router(metrics))
    app.include_router(docs_router(title=title))
    for router in routers:
        app.include_router(router)

    # Request context is the outermost layer, so every response and log line (a 413, a 429 or
    # an idempotent replay included) carries the request id.
    app.user_middleware[:0] = [
        Middleware(RequestContextMiddleware, metrics=metrics, logger_name=settings.service_name),
        *([Middleware(PeerOnlyMiddleware)] if peers_only else []),
        *edge_middleware,
        Middleware(
            BodySizeLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            upload_max_bytes=settings.max_upload_bytes,
            file_max_bytes=settings.max_file_upload_bytes,
            file_paths=file_upload_paths,
        ),
        *routing_middleware,
        *([Middleware(WriteFenceMiddleware)] if routing is not None else []),
        Middleware(IdempotencyMiddleware),
    ]
    return app


async def _purge_forever(app: FastAPI) -> None:
    while True:
        try:
            removed = await purge_expired(
                app.state.engine, app.state.infra_tables, app.state.settings.idempotency_ttl_hours
            )
            if removed:
                log.info("idempotency keys purged", extra={"removed": removed})
        except Exception:  # the database may be briefly away; try again next round
            log.warning("idempotency purge failed", exc_info=True)
        await asyncio.sleep(PURGE_EVERY_SECONDS)
