"""``/healthz`` (alive, no I/O), ``/readyz`` (database reachable, migrations at head), ``/metrics``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.observability import Metrics


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
        ready = all(c.get("status") == "ok" or c.get("required") is False for c in checks.values())
        return JSONResponse(
            {
                "status": "ok" if ready else "unavailable",
                "service": state.settings.service_name,
                "checks": checks,
            },
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics_view() -> Any:
        return metrics.render()

    return router
