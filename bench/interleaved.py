"""Rows that are compared with each other, driven in turns so they see the same machine.

The hop at a steady rate is the gateway row's p50 less the direct row's. Run one after the other,
each for its whole duration, the two rows sat in different stretches of the machine's time, and
the machine's own drift decided the difference: on 2026-12-02 the reference app's p50 at 300/s
went 1.43 → 4.37 ms between two runs, with nothing else changed, and the hop came out anywhere from
-2.5 to +3.9 ms. Driven in turns, a slice each (``SLICES`` slices of ``duration / SLICES``), every
row gets its share of each stretch, and a row's figures come from all its slices' requests merged:
one histogram, the requests and CPU summed. Each slice is a driver process of its own, warmed up
like any row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hdrh.histogram import HdrHistogram

from bench.driver import latencies

SLICES = 10

Measured = Callable[[dict[str, Any]], dict[str, Any]]


def in_turns(
    measured: Measured, specs: list[tuple[str, dict[str, Any]]], slices: int = SLICES
) -> dict[str, Any]:
    """Each ``(key, spec)`` driven ``slices`` times for ``duration / slices`` seconds, in turns."""
    parts: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in specs}
    for index in range(slices):
        for key, spec in specs:
            part = {
                **spec,
                "duration": float(spec["duration"]) / slices,
                "name": f"{spec['name']} [{index + 1}/{slices}]",
            }
            parts[key].append(measured(part))
    return {
        key: merged(results, name=spec["name"])
        for (key, spec), results in zip(specs, parts.values(), strict=True)
    }


def merged(results: list[dict[str, Any]], *, name: str) -> dict[str, Any]:
    """One row's slices as one row: the histograms merged, counts summed, CPU weighted by requests."""
    histogram = HdrHistogram.decode(results[0]["hdr"])
    for result in results[1:]:
        histogram.decode_and_add(result["hdr"])
    requests = sum(r["requests"] for r in results)
    seconds = sum(r["seconds"] for r in results)
    statuses: dict[str, int] = {}
    for result in results:
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    row: dict[str, Any] = {
        "name": name,
        "requests": requests,
        "ok": sum(r["ok"] for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "statuses": dict(sorted(statuses.items())),
        "seconds": round(seconds, 3),
        "throughput": round(requests / seconds, 1) if seconds else 0.0,
        **latencies(histogram),
        "partial": sum(r.get("partial", 0) for r in results),
        "kept": sum(r.get("kept", 0) for r in results),
        "slices": len(results),
        "rss_mb_after": results[-1].get("rss_mb_after", {}),
        "hdr": histogram.encode().decode("ascii"),
    }
    row |= _cpu(results, requests)
    return row


def _cpu(results: list[dict[str, Any]], requests: int) -> dict[str, Any]:
    """The slices' CPU per request, weighted by each slice's requests."""
    if not requests:
        return {"app_cpu_ms": None, "db_cpu_ms": None}

    def weighted(values: list[tuple[float | None, int]]) -> float | None:
        known = [(v, n) for v, n in values if v is not None]
        return round(sum(v * n for v, n in known) / requests, 3) if known else None

    apps = {app for r in results for app in r.get("app_cpu_ms_by_app", {})}
    return {
        "app_cpu_ms": weighted([(r.get("app_cpu_ms"), r["requests"]) for r in results]),
        "db_cpu_ms": weighted([(r.get("db_cpu_ms"), r["requests"]) for r in results]),
        "app_cpu_ms_by_app": {
            app: weighted([(r.get("app_cpu_ms_by_app", {}).get(app), r["requests"]) for r in results])
            for app in sorted(apps)
        },
    }
