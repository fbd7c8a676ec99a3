"""One run of the bench's HTTP rows, repeated by ``--repeat N`` on the same stack and the same data.

Three kinds of row, each with the reference app's row of the same kind to compare with:
- sequential: one connection, one request at a time (what one agent's phone sees);
- closed loop: ``--concurrency`` connections back to back (throughput; latency there is queueing);
- steady rate: requests scheduled at a fixed rate, latency from the scheduled time (the latency
  targets are read there).

Each row also records the CPU time the app processes (and the reference app) spent during it, per
request, from their ``/proc`` counters (``psutil``): the driver and PostgreSQL are not included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import psutil

Drive = Callable[[dict[str, Any]], dict[str, Any]]

SEQUENTIAL = ("seq_reference", "seq_direct", "seq_gateway")
CLOSED = ("reference", "direct", "gateway", "list", "create", "agenda", "agenda_asked")
STEADY = ("steady_reference", "steady_direct", "steady", "list_steady")
KIND_OF_ROW = {
    **dict.fromkeys(SEQUENTIAL, "sequential"),
    **dict.fromkeys(CLOSED, "closed"),
    **dict.fromkeys(STEADY, "steady"),
    "list_10k": "closed",
}
REFERENCE_OF_KIND = {"sequential": "seq_reference", "closed": "reference", "steady": "steady_reference"}


def _cpu_seconds(pids: Mapping[str, int]) -> float:
    total = 0.0
    for pid in pids.values():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def measured(drive: Drive, spec: dict[str, Any], pids: Mapping[str, int]) -> dict[str, Any]:
    """``drive(spec)`` with the app processes' CPU time per request added (``app_cpu_ms``)."""
    before = _cpu_seconds(pids)
    result = drive(spec)
    spent = _cpu_seconds(pids) - before
    result["app_cpu_ms"] = round(spent * 1000 / result["requests"], 3) if result["requests"] else None
    return result


def run_once(
    drive: Drive,
    *,
    urls: Mapping[str, str],
    common: dict[str, Any],
    list_spec: dict[str, Any],
    rate: float,
    list_rate: float,
    rows_label: str,
    with_agenda: bool,
    pids: Mapping[str, int],
    writer: list[dict[str, Any]],
    settle: Callable[[], float | None],
) -> dict[str, Any]:
    """Every repeated HTTP row once; ``urls`` names ``direct``, ``gateway`` and ``reference``.

    The create row writes as ``writer`` (an agent no other row reads as), so the clients it adds
    never lie in the way of a later list page, in this run or the next; then ``settle()`` waits
    until the apps are quiet again (the event consumers counting the new clients), so that work is
    not charged to the rows after it. The seconds it took are kept with the create row."""
    direct, gateway, reference = urls["direct"], urls["gateway"], urls["reference"]
    get = {**common, "kind": "get_client"}
    one = {**get, "concurrency": 1}
    steady = {**get, "mode": "open", "rate": rate}
    specs: list[tuple[str, dict[str, Any]]] = [
        ("seq_reference", {**one, "base_url": reference, "name": "GET client, reference app"}),
        ("seq_direct", {**one, "base_url": direct, "name": "GET client, direct"}),
        ("seq_gateway", {**one, "base_url": gateway, "name": "GET client, via gateway"}),
        ("reference", {**get, "base_url": reference, "name": "(r) GET client, reference app"}),
        ("direct", {**get, "base_url": direct, "name": "(a) GET client, direct"}),
        ("gateway", {**get, "base_url": gateway, "name": "(b) GET client, via gateway"}),
        ("list", {**list_spec, "base_url": gateway, "name": f"(c) list 50, filtered, {rows_label} rows"}),
    ]
    create = {
        **common,
        "actors": writer,
        "kind": "create_client",
        "base_url": gateway,
        "name": "(d) POST client + Idem-Key",
    }
    rows = {key: measured(drive, spec, pids) for key, spec in specs}
    rows["create"] = measured(drive, create, pids)
    rows["create"]["settled_after_s"] = settle()
    specs = []
    if with_agenda:
        agenda = {**common, "kind": "agenda", "base_url": gateway, "query": ""}
        specs += [
            ("agenda", {**agenda, "name": "(e) agent agenda"}),
            # The same, every service asked each time (not served kept): the cost of a miss.
            (
                "agenda_asked",
                {**agenda, "headers": {"Cache-Control": "no-cache"}, "name": "(e) agenda, no-cache"},
            ),
        ]
    specs += [
        ("steady_reference", {**steady, "base_url": reference, "name": f"(r) at a steady {rate:.0f}/s"}),
        ("steady_direct", {**steady, "base_url": direct, "name": f"(a) at a steady {rate:.0f}/s"}),
        ("steady", {**steady, "base_url": gateway, "name": f"(b) at a steady {rate:.0f}/s"}),
        (
            "list_steady",
            {
                **list_spec,
                "mode": "open",
                "rate": list_rate,
                "base_url": gateway,
                "name": f"(c) at a steady {list_rate:.0f}/s, {rows_label}",
            },
        ),
    ]
    return rows | {key: measured(drive, spec, pids) for key, spec in specs}
