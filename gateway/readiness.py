"""The gateway's readiness also reports each upstream's ``/readyz``, probed concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from crmkit.balancing import PINNED
from crmkit.http import forwarded_headers


async def probe(
    client: httpx.AsyncClient, base_url: str, timeout_seconds: float, *, replica: bool = False
) -> dict[str, Any]:
    """One upstream's readiness: its status and how long it took to answer. ``replica``: that very
    process, never another replica of the same app (crmkit/balancing.py)."""
    started = time.perf_counter()
    try:
        response = await client.get(
            f"{base_url}/readyz",
            timeout=timeout_seconds,
            headers=forwarded_headers(None),
            extensions={PINNED: True} if replica else None,
        )
    except httpx.TimeoutException:
        return {"status": "timeout", "latency_ms": _ms(started)}
    except httpx.TransportError as exc:
        return {"status": "down", "error": type(exc).__name__, "latency_ms": _ms(started)}
    status = "ok" if response.status_code == 200 else "unavailable"
    return {"status": status, "http_status": response.status_code, "latency_ms": _ms(started)}


def upstreams_check(app: FastAPI) -> Callable[[], Awaitable[dict[str, Any]]]:
    """A readiness check that probes every upstream at once; a service with several replicas
    (crmkit/balancing.py) is ready when at least one of them is."""

    async def check() -> dict[str, Any]:
        settings = app.state.settings
        client: httpx.AsyncClient = app.state.upstream_client
        urls: dict[str, str] = settings.upstream_urls()
        replicas: dict[str, list[str]] = {
            name: settings.replicas.get(name, [url]) for name, url in urls.items()
        }
        # The client balances requests addressed to a service; a probe names one replica, so it
        # goes out on the inner transport, unbalanced.
        probes = [(name, url) for name, each in replicas.items() for url in each]
        results = await asyncio.gather(
            *(probe(client, url, settings.readiness_timeout_seconds, replica=True) for _, url in probes)
        )
        services: dict[str, dict[str, Any]] = {}
        for (name, url), result in zip(probes, results, strict=True):
            if len(replicas[name]) == 1:
                services[name] = result
                continue
            entry = services.setdefault(name, {"status": "down", "replicas": {}})
            entry["replicas"][url] = result
            if result["status"] == "ok":
                entry["status"] = "ok"
        healthy = all(r["status"] == "ok" for r in services.values())
        # The gateway stays in rotation when one service is down: sign-in and the other services
        # still work, and proxied calls to the downed one answer 503 problems.
        return {"status": "ok" if healthy else "degraded", "required": False, "services": services}

    return check


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
