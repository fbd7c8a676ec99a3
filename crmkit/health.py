"""``/healthz`` (alive, no I/O), ``/readyz`` (database reachable, migrations at head), ``/metrics``.

In staging and production ``/metrics`` and the ``checks`` of ``/readyz`` answer only to the ops
token (``CRM_OPS_TOKEN``, sent as a bearer token, e.g. Prometheus's ``bearer_token``); ``/healthz``
and the status of ``/readyz`` stay public, for load balancers and Kubernetes probes."""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.draining import draining
from crmkit.observability import Metrics
from crmkit.problems import NotFound


async def database_status(engine: AsyncEngine, schema: str, expected_head: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            versions = table("alembic_version", column("version_num"), schema=schema)
            current = await conn.scalar(select(versions.c.version_num))
    except Exception as exc:  # readiness reports the failure; it must not raise
        return {"status": "down", "error": type(exc).__name__, "latency_ms": _ms(started)}
    at_head = current == expected_head
    return {
        "status": "ok" if at_head else "migrations_pending",
        "revision": current,
        "head": expected_head,
        "latency_ms": _ms(started),
    }


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _ops_allowed(request: Request) -> bool:
    """Development and test: everyone. Staging and production: only the ops token's bearer, so
    metrics and the detail of readiness (revisions, upstream latencies) are not public."""
    settings = request.app.state.settings
    if settings.environment in ("development", "test"):
        return True
    token: str | None = settings.ops_token
    given = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def health_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers (no I/O)")
    async def healthz(request: Request) -> dict[str, str]:
        return {"status": "ok", "service": request.app.state.settings.service_name}

    @router.get("/readyz", summary="Readiness: database reachable and migrations at head")
    async def readyz(request: Request) -> JSONResponse:
        state = request.app.state
        extra = getattr(state, "readiness_checks", {})
        results = await asyncio.gather(
            database_status(state.engine, state.schema, state.expected_head),
            *(check() for check in extra.values()),
        )
        checks: dict[str, Any] = dict(zip(["database", *extra], results, strict=True))
        # A check marked ``required: False`` is reported but does not take the app out of rotation.
        if draining():
            checks["draining"] = {"status": "stopping"}
        ready = all(c.get("status") == "ok" or c.get("required") is False for c in checks.values())
        body: dict[str, Any] = {
            "status": "ok" if ready else "unavailable",
            "service": state.settings.service_name,
        }
        if _ops_allowed(request):
            body["checks"] = checks
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics_view(request: Request) -> Any:
        if not _ops_allowed(request):
            raise NotFound("no such resource")  # not public in staging and production: nothing to probe
        return metrics.render()

    return router
