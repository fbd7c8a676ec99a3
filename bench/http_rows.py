"""One run of the bench's HTTP rows, repeated by ``--repeat N`` on the same stack and the same data.

Three kinds of row, each with the reference app's row of the same kind to compare with:
- sequential: one connection, one request at a time (what one agent's phone sees);
- closed loop: ``--concurrency`` connections back to back (throughput; latency there is queueing);
- steady rate: requests scheduled at a fixed rate, latency from the scheduled time (the latency
  targets are read there).

Each row also records the CPU time spent during it, per request, from the processes' ``/proc``
counters (``psutil``): the stack's apps together and each on its own, the reference app, and the
PostgreSQL server's processes. The driver's CPU is not included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import psutil

from bench import interleaved

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


DATABASE_PROCESS_NAMES = frozenset({"postgres", "postmaster"})


def _rss_mb(pids: Mapping[str, int]) -> dict[str, float]:
    """Each named process's resident memory now, MB (where a process grows, row by row)."""
    sizes: dict[str, float] = {}
    for name, pid in pids.items():
        with contextlib.suppress(psutil.Error):
            sizes[name] = round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    return sizes


def _cpu_seconds(pids: Mapping[str, int]) -> dict[str, float]:
    """Each named process's CPU seconds so far (user + system); one that is gone counts 0."""
    seconds: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        seconds[name] = times.user + times.system
    return seconds


def _database_seconds() -> dict[int, float]:
    """Every PostgreSQL process's CPU seconds so far, by pid: the server's backends, writers and
    checkpointer. The bench's server is the only one busy while it runs (the CI machine's own
    server and the embedded one alike)."""
    seconds: dict[int, float] = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if process.info["name"] in DATABASE_PROCESS_NAMES and times is not None:
            seconds[process.pid] = times.user + times.system
    return seconds


def measured(drive: Drive, spec: dict[str, Any], pids: Mapping[str, int]) -> dict[str, Any]:
    """``drive(spec)`` with the CPU time spent during it, per request: the app processes' together
    (``app_cpu_ms``, the reference app included), each app's (``app_cpu_ms_by_app``) and
    PostgreSQL's (``db_cpu_ms``; a backend that started during the row counts from zero). The
    driver's own CPU is in none of them. Each app's RSS after the row: ``rss_mb_after``."""
    apps_before, db_before = _cpu_seconds(pids), _database_seconds()
    result = drive(spec)
    apps_after, db_after = _cpu_seconds(pids), _database_seconds()
    result["rss_mb_after"] = _rss_mb(pids)
    requests = int(result["requests"])
    if not requests:
        result["app_cpu_ms"] = result["db_cpu_ms"] = None
        return result

    def per_request(seconds: float) -> float:
        return round(seconds * 1000 / requests, 3)

    by_app = {name: apps_after[name] - apps_before.get(name, 0.0) for name in apps_after}
    result["app_cpu_ms_by_app"] = {name: per_request(spent) for name, spent in by_app.items()}
    result["app_cpu_ms"] = per_request(sum(by_app.values()))  # the reference app's included, as always
    result["db_cpu_ms"] = per_request(sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items()))
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
    if with_agenda:
        agenda = {**common, "kind": "agenda", "base_url": gateway, "query": ""}
        rows["agenda"] = measured(drive, {**agenda, "name": "(e) agent agenda"}, pids)
        # The same, every service asked each time (not served kept): the cost of a miss.
        asked = {**agenda, "headers": {"Cache-Control": "no-cache"}, "name": "(e) agenda, no-cache"}
        rows["agenda_asked"] = measured(drive, asked, pids)
        # Its builds keep every service busy to the end: the rows after it start on quiet apps too.
        rows["agenda_asked"]["settled_after_s"] = settle()
    # The three GET rows at a steady rate are compared with each other (the ratios, the hop): in
    # turns, a slice at a time, so that the machine's drift falls on all three alike.
    rows |= interleaved.in_turns(
        lambda spec: measured(drive, spec, pids),
        [
            ("steady_reference", {**steady, "base_url": reference, "name": f"(r) at a steady {rate:.0f}/s"}),
            ("steady_direct", {**steady, "base_url": direct, "name": f"(a) at a steady {rate:.0f}/s"}),
            ("steady", {**steady, "base_url": gateway, "name": f"(b) at a steady {rate:.0f}/s"}),
        ],
    )
    list_steady = {
        **list_spec,
        "mode": "open",
        "rate": list_rate,
        "base_url": gateway,
        "name": f"(c) at a steady {list_rate:.0f}/s, {rows_label}",
    }
    rows["list_steady"] = measured(drive, list_steady, pids)
    return rows
