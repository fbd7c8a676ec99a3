"""The load generator, run as its own process: ``python -m bench.driver < spec.json > result.json``.

aiohttp on uvloop keeps the driver's own cost low; latencies go into an HDR histogram (µs).
Two modes:
- closed: ``concurrency`` workers send back to back for ``duration`` s (throughput);
- open: requests are *scheduled* at ``rate`` per second and latency is measured from the scheduled
  time, so a stalled server cannot hide its queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from hdrh.histogram import HdrHistogram

MAX_LATENCY_US = 60_000_000
ROOT = Path(__file__).resolve().parents[1]


def in_own_process(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` driven by ``python -m bench.driver`` in a process of its own (its CPU is not the
    caller's); ``RuntimeError`` with the end of the driver's stderr when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.driver"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=float(spec["duration"]) + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"driver failed for {spec.get('name', 'a scenario')}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class Requests:
    """Builds the next request of a scenario: (method, path, headers, json body)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.kind: str = spec["kind"]
        self.actors: list[dict[str, Any]] = spec["actors"]  # [{"token", "client_ids": [...]}]
        self.query: str = spec.get("query", "")
        self.headers: dict[str, str] = spec.get("headers", {})
        self.rng = random.Random(11)
        self.serial = itertools.count()

    def next(self) -> tuple[str, str, dict[str, str], Any]:
        actor = self.actors[self.rng.randrange(len(self.actors))]
        headers = {"Authorization": f"Bearer {actor['token']}", **self.headers}
        if self.kind == "get_client":
            client_id = actor["client_ids"][self.rng.randrange(len(actor["client_ids"]))]
            return "GET", f"/api/v1/clients/{client_id}", headers, None
        if self.kind == "list_clients":
            return "GET", f"/api/v1/clients?{self.query}", headers, None
        if self.kind == "create_client":
            headers["Idempotency-Key"] = f"bench-{uuid.uuid4()}"
            body = {"name": f"压测客户{next(self.serial)}", "gender": "female", "channel": "cold"}
            return "POST", "/api/v1/clients", headers, body
        if self.kind == "agenda":
            return "GET", f"/api/v1/agenda?{self.query}", headers, None
        raise ValueError(f"unknown scenario kind {self.kind}")


async def _one(session: aiohttp.ClientSession, base: str, requests: Requests) -> tuple[int, bytes, bool]:
    """Status, body, and whether the gateway served a kept answer (``Cache-Status: ...; hit``)."""
    method, path, headers, body = requests.next()
    async with session.request(method, base + path, headers=headers, json=body) as response:
        kept = response.headers.get("Cache-Status", "").endswith("; hit")
        return response.status, await response.read(), kept


def latencies(histogram: HdrHistogram) -> dict[str, float]:
    """A row's latency figures, ms, from its histogram (µs)."""
    return {
        "p50_ms": histogram.get_value_at_percentile(50) / 1000,
        "p95_ms": histogram.get_value_at_percentile(95) / 1000,
        "p99_ms": histogram.get_value_at_percentile(99) / 1000,
        "max_ms": histogram.get_max_value() / 1000,
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    histogram = HdrHistogram(1, MAX_LATENCY_US, 3)
    statuses: dict[int, int] = {}
    errors = 0
    partial = 0  # the agenda's answers that say a source was missing
    kept = 0  # answers the gateway served kept (the agenda's cache)
    agenda = spec["kind"] == "agenda"
    requests = Requests(spec)
    duration = float(spec["duration"])
    base = spec["base_url"].rstrip("/")
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=30)

    async def measured(started: float) -> None:
        nonlocal errors, partial, kept
        try:
            status, content, hit = await _one(session, base, requests)
            statuses[status] = statuses.get(status, 0) + 1
            kept += hit
            if agenda and b'"partial":true' in content:
                partial += 1
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
        histogram.record_value(max(1, int((time.perf_counter() - started) * 1_000_000)))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(int(spec.get("warmup", 50))):  # connections, caches, JIT-less warm paths
            with contextlib.suppress(aiohttp.ClientError):
                await _one(session, base, requests)
        began = time.perf_counter()
        if spec["mode"] == "closed":

            async def worker() -> None:
                while time.perf_counter() - began < duration:
                    await measured(time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
        else:
            interval = 1.0 / float(spec["rate"])
            pending: set[asyncio.Task[None]] = set()
            for i in itertools.count():
                scheduled = began + i * interval
                if scheduled - began >= duration:
                    break
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(measured(scheduled))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending)
        elapsed = time.perf_counter() - began

    total = histogram.get_total_count()
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "name": spec["name"],
        "requests": total,
        "ok": ok,
        "non_2xx": total - ok - errors,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "throughput": round(total / elapsed, 1) if elapsed else 0.0,
        **latencies(histogram),
        "partial": partial,
        "kept": kept,
        "hdr": histogram.encode().decode("ascii"),  # µs; HdrHistogram.decode() reads it back
    }


def main() -> None:
    spec = json.load(sys.stdin)
    result = uvloop.run(run(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
