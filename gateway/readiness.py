"""The gateway's readiness also reports each upstream's ``/readyz``, probed concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from crmkit.http import forwarded_headers


async def probe(client: httpx.AsyncClient, base_url: str, timeout_seconds: float) -> dict[str, Any]:
    """One upstream's readiness: its status and how long it took to answer."""
    started = time.perf_counter()
    try:
        response = await client.get(
            f"{base_url}/readyz", timeout=timeout_seconds, headers=forwarded_headers(None)
        )
    except httpx.TimeoutException:
        return {"status": "timeout", "latency_ms": _ms(started)}
    except httpx.TransportError as exc:
        return {"status": "down", "error": type(exc).__name__, "latency_ms": _ms(started)}
    status = "ok" if response.status_code == 200 else "unavailable"
    return {"status": status, "http_status": response.status_code, "latency_ms": _ms(started)}


def upstreams_check(app: FastAPI) -> Callable[[], Awaitable[dict[str, Any]]]:
    """A readiness check that probes every upstream at once."""

    async def check() -> dict[str, Any]:
        settings = app.state.settings
        client: httpx.AsyncClient = app.state.upstream_client
        urls: dict[str, str] = settings.upstream_urls()
        results = await asyncio.gather(
            *(probe(client, url, settings.readiness_timeout_seconds) for url in urls.values())
        )
        services = dict(zip(urls, results, strict=True))
        healthy = all(r["status"] == "ok" for r in results)
        # The gateway stays in rotation when one service is down: sign-in and the other services
        # still work, and proxied calls to the downed one answer 503 problems.
        return {"status": "ok" if healthy else "degraded", "required": False, "services": services}

    return check


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
