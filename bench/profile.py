"""``python -m bench.profile``: the hot paths, profiled and costed, one or more code trees side by side.

Issue 22, item 2 ("profile, then cut"). A database of its own (``crm_hotpaths``, kept between runs
with ``--reuse``: 50 agents, 100,000 clients by COPY, the agenda's 5,000-client agent, a book of
policies and claims, as ``make bench`` loads them), then one stack per code tree (``--tree
NAME=PATH``, default: this one), each started by its own launcher on its own port offset (3000,
3500, ...; ``--first-offset`` moves the first, so two runs can share a machine) against the same
database. Every scenario runs on every tree in turn, ``--rounds`` times,
interleaved (A, B, A, B...), so a busy neighbour on a shared machine weighs on both alike.

Per scenario and tree: throughput and latency (``bench.driver``, its own process) and the CPU time
each app process spent per request (``psutil``, user + system, over the whole run): the figure least
moved by other load on the machine. With ``--spy``, ``py-spy record`` samples the app that serves
the path (and the gateway, where it is in the path) during the first round and writes flame graphs
to ``bench/profiles/<tree>-<scenario>-<app>.svg`` (py-spy needs ptrace rights: root, or
``kernel.yama.ptrace_scope=0``).

Scenarios: ``get_direct``, ``get_gateway`` (GET /api/v1/clients/{id}), ``list`` (50, channel=referral,
through the gateway), ``create`` (POST with an Idempotency-Key, through the gateway), ``agenda``
(the gateway's fan-out view), ``steady_direct`` / ``steady_gateway`` (GET by id at a fixed rate,
open loop). Nothing is asserted; the table is printed and written to ``bench/results/profile.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import agenda, dataset, portfolio
from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.settings import CommonSettings
from launcher import throwaway
from launcher.apps import ALL_APPS, ROOT

DATABASE = "crm_hotpaths"
FIRST_OFFSET = 3000
OFFSET_STEP = 500
PROFILES = ROOT / "bench" / "profiles"
RESULTS = ROOT / "bench" / "results"
STACK_ENV = {
    "CRM_LOG_LEVEL": "WARNING",
    "GATEWAY_RATE_LIMIT": "100000000/minute",
    # Small pools: two stacks of eight apps share the server's max_connections (100 by default)
    # with whatever else runs on it; CPU per request does not depend on the pool's size.
    "CRM_DB_POOL_SIZE": "4",
    "CRM_DB_MAX_OVERFLOW": "2",
    "POLICIES_SWEEP_INTERVAL_SECONDS": "0",
}
# name: (kind, via, mode, apps to profile; the first serves the path)
SCENARIOS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "get_direct": ("get_client", "direct", "closed", ("clients",)),
    "get_gateway": ("get_client", "gateway", "closed", ("clients", "gateway")),
    "list": ("list_clients", "gateway", "closed", ("clients", "gateway")),
    "create": ("create_client", "gateway", "closed", ("clients", "gateway")),
    "agenda": ("agenda", "gateway", "closed", ("gateway", "clients", "policies", "tasks")),
    "agenda_asked": ("agenda", "gateway", "closed", ("gateway", "clients", "policies", "tasks")),
    "steady_direct": ("get_client", "direct", "open", ()),
    "steady_gateway": ("get_client", "gateway", "open", ()),
}


def say(message: str) -> None:
    print(f"profile | {message}", flush=True)


def _state_file() -> Path:
    return ROOT / ".data" / "hotpaths" / "dataset.json"


async def _holds(url: str, agent: dataset.Agent) -> bool:
    """Whether the database at ``url`` still holds ``agent``'s first client as the saved data set has it."""
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        owner = await conn.fetchval(
            "SELECT owner_agent_id FROM clients.clients WHERE id = $1", agent.client_ids[0]
        )
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()
    return bool(owner == agent.user_id)


def load_or_reuse(server_url: str, *, clients: int, reuse: bool) -> tuple[str, dataset.DataSet]:
    """The database and its data set: loaded afresh, or (``--reuse``) the one a previous run left."""
    saved = _state_file()
    url = throwaway.with_database(server_url, DATABASE)
    if reuse and saved.exists():
        raw = json.loads(saved.read_text())
        agents = [
            dataset.Agent(
                uuid.UUID(a["user_id"]), uuid.UUID(a["team_id"]), [uuid.UUID(c) for c in a["clients"]]
            )
            for a in raw["agents"]
        ]
        if asyncio.run(_holds(url, agents[0])):
            return url, dataset.DataSet(agents=agents, teams=[uuid.UUID(t) for t in raw["teams"]])
        # Another tree's run loaded the database since (the saved ids are this tree's): loaded afresh,
        # else every GET would be a 404.
        say("the saved data set is not the database's: loading afresh")
    url = throwaway.recreate_database(server_url, DATABASE)
    for spec in ALL_APPS:
        upgrade_to_head(spec.migrations_dir, url)
    data = asyncio.run(dataset.load_people(url, agents=50, teams=5))
    asyncio.run(dataset.load_clients(url, data, count=clients))
    asyncio.run(agenda.grow_agent(url, data))
    asyncio.run(portfolio.load_portfolio(url, data))
    asyncio.run(dataset.settle(url))
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(
        json.dumps(
            {
                "teams": [str(t) for t in data.teams],
                "agents": [
                    {
                        "user_id": str(a.user_id),
                        "team_id": str(a.team_id),
                        "clients": [str(c) for c in a.client_ids],
                    }
                    for a in data.agents
                ],
            }
        )
    )
    say(f"loaded {data.clients} clients into {DATABASE}")
    return url, data


@contextlib.contextmanager
def stack(root: Path, url: str, *, name: str, offset: int) -> Iterator[dict[str, Any]]:
    """The launcher of the tree at ``root`` (its own code, this interpreter) on ``offset``."""
    data_dir = ROOT / ".data" / f"hotpaths-{name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    state_file = data_dir / "launcher.json"
    state_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        **STACK_ENV,
        "CRM_DATABASE_URL": url,
        "CRM_DEMO_DATA": "0",
        "CRM_DATA_DIR": str(data_dir),
        "CRM_PORT_OFFSET": str(offset),
        "PYTHONPATH": str(root),
    }
    with (data_dir / "launcher.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "launcher", "run"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield throwaway._wait_ready(process, state_file, log.name)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_one(
    scenario: str,
    state: dict[str, Any],
    offset: int,
    actors: list[dict[str, Any]],
    args: argparse.Namespace,
    spy_to: str | None,
) -> dict[str, Any]:
    kind, via, mode, profiled = SCENARIOS[scenario]
    base = f"http://127.0.0.1:{(8000 if via == 'gateway' else 8101) + offset}"
    spec: dict[str, Any] = {
        "name": scenario,
        "kind": kind,
        "base_url": base,
        "mode": mode,
        "duration": args.duration,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "actors": actors,
        "query": "limit=50&channel=referral" if kind == "list_clients" else "",
        # Every service asked, as before the gateway kept agendas (gateway/views/agenda_cache.py).
        "headers": {"Cache-Control": "no-cache"} if scenario == "agenda_asked" else {},
        "warmup": 100,
    }
    pids = {name: app["pid"] for name, app in state["apps"].items()}
    spies: list[subprocess.Popen[bytes]] = []
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    driver = subprocess.Popen(
        [sys.executable, "-m", "bench.driver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert driver.stdin is not None
    driver.stdin.write(json.dumps(spec).encode())
    driver.stdin.close()
    if spy_to is not None:
        time.sleep(1.0)  # past the driver's warm-up
        for app in profiled:
            suffix = "svg" if args.spy_format == "flamegraph" else "txt"
            out = PROFILES / f"{spy_to}-{scenario}-{app}.{suffix}"
            spies.append(
                subprocess.Popen(  # noqa: S603 - the venv's own py-spy, on our own apps
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(pids[app]),
                        "--rate",
                        str(args.spy_rate),
                        "--duration",
                        str(max(1, int(args.duration) - 2)),
                        "--nonblocking",
                        "--format",
                        args.spy_format,
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    assert driver.stdout is not None
    output = driver.stdout.read()
    driver.wait(timeout=120)
    for spy in spies:
        spy.wait(timeout=60)
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result: dict[str, Any] = json.loads(output)
    requests = max(1, int(result["requests"]))
    result["cpu_ms_per_request"] = {
        name: round((after[name] - before[name]) * 1000 / requests, 3)
        for name in pids
        if after[name] - before[name] > 0.05
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", default=[], help="NAME=PATH of a code tree (repeatable)")
    parser.add_argument("--scenario", action="append", default=[], choices=sorted(SCENARIOS))
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="reuse the data a previous run loaded")
    parser.add_argument(
        "--first-offset", type=int, default=FIRST_OFFSET, help="port offset of the first tree"
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=int(STACK_ENV["CRM_DB_POOL_SIZE"]),
        help="each app's database pool (make bench: 20); the RSS after the runs depends on it",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=300.0, help="open-loop scenarios, requests/s")
    parser.add_argument("--spy", action="store_true", help="py-spy flame graphs in the first round")
    parser.add_argument("--spy-rate", type=int, default=250)
    parser.add_argument(
        "--spy-format",
        default="flamegraph",
        choices=["flamegraph", "raw"],
        help="raw: collapsed stacks (.txt)",
    )
    args = parser.parse_args()
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree] or [("this", ROOT)]
    scenarios = args.scenario or list(SCENARIOS)
    settings = CommonSettings(environment="development")
    STACK_ENV["CRM_DB_POOL_SIZE"] = str(args.pool_size)
    PROFILES.mkdir(parents=True, exist_ok=True)

    with throwaway.database_server("hotpaths") as server_url:
        url, data = load_or_reuse(server_url, clients=args.clients, reuse=args.reuse)
        actors = [
            {
                "token": issue_access_token(
                    settings, user_id=a.user_id, role=Role.AGENT, team_id=a.team_id, ttl=timedelta(hours=4)
                ),
                "client_ids": [str(c) for c in a.client_ids[:2000]],
            }
            for a in data.agents
        ]
        with contextlib.ExitStack() as stacks:
            states = []
            for i, (name, root) in enumerate(trees):
                offset = args.first_offset + i * OFFSET_STEP
                states.append(
                    (name, offset, stacks.enter_context(stack(root, url, name=name, offset=offset)))
                )
                say(f"{name}: stack ready on offset {offset} ({root})")
            settle([s for _, _, s in states])
            results: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for round_ in range(args.rounds):
                for scenario in scenarios:
                    for name, offset, state in states:
                        spy = f"{name}" if args.spy and round_ == 0 else None
                        outcome = run_one(scenario, state, offset, actors, args, spy)
                        results.setdefault(scenario, {}).setdefault(name, []).append(outcome)
                        say(
                            f"round {round_ + 1} {scenario:15} {name:8} {outcome['throughput']:7.1f} req/s "
                            f"p50 {outcome['p50_ms']:6.2f} p99 {outcome['p99_ms']:7.2f} ms "
                            f"non-2xx {outcome['non_2xx']} cpu ms/req {outcome['cpu_ms_per_request']}"
                        )
            rss = {
                name: {
                    app: round(psutil.Process(a["pid"]).memory_info().rss / 2**20, 1)
                    for app, a in s["apps"].items()
                }
                for name, _, s in states
            }
    summary = summarise(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "profile.json").write_text(
        json.dumps({"summary": summary, "rss_mb": rss, "runs": results}, indent=2)
    )
    for line in table(summary):
        print(line)
    say(f"RSS MB after the runs: {rss}")


def settle(
    states: list[dict[str, Any]], *, quiet_cpu_seconds: float = 0.3, limit_seconds: float = 60
) -> float | None:
    """Wait until the apps' startup work (caches, first polls, the event feeds catching up with a
    bulk load) is over: under ``quiet_cpu_seconds`` of CPU for all of them in 2 s. The seconds it
    took, or None when ``limit_seconds`` passed first (the rest is then charged to the first run)."""
    pids = [app["pid"] for state in states for app in state["apps"].values()]
    started = time.monotonic()
    while time.monotonic() - started < limit_seconds:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(2)
        if sum(cpu_seconds(pid) for pid in pids) - before < quiet_cpu_seconds:
            return round(time.monotonic() - started, 1)
    return None


def summarise(results: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per scenario and tree: medians over the rounds (throughput, p50, p99, CPU ms per request)."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario, trees in results.items():
        for name, runs in trees.items():
            apps = sorted({app for r in runs for app in r["cpu_ms_per_request"]})
            summary.setdefault(scenario, {})[name] = {
                "throughput": statistics.median(r["throughput"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "non_2xx": sum(r["non_2xx"] + r["errors"] for r in runs),
                "cpu_ms": {
                    app: statistics.median(r["cpu_ms_per_request"].get(app, 0.0) for r in runs)
                    for app in apps
                },
            }
    return summary


def table(summary: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        f"{'scenario':15} {'tree':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  CPU ms per request (median)"
    ]
    for scenario, trees in summary.items():
        for name, s in trees.items():
            cpu = ", ".join(f"{app} {ms:.2f}" for app, ms in s["cpu_ms"].items())
            lines.append(
                f"{scenario:15} {name:8} {s['throughput']:8.1f} {s['p50_ms']:8.2f} {s['p99_ms']:8.2f}  {cpu}"
            )
    return lines


if __name__ == "__main__":
    main()
