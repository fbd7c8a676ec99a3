"""``make bench``: load a realistic data set, drive the stack from a separate process, print figures.

Steps: a fresh ``crm_bench`` database (on ``CRM_TEST_DATABASE_URL``'s server, else the embedded
one) → migrations → 50 agents and 10,000 clients by COPY → the real launcher starts the five apps
→ list cost at 10,000 rows → 90,000 more clients → policies and claims → every scenario → the
asyncpg floor → RSS of each process → the policy sweep over 50,000 policies (a database of its own)
→ the team scorecard of 50 agents over 12 months (a database of its own)
→ a table with ratios against the targets. Nothing is asserted: the figures are printed (and
written to ``bench/results/latest.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import psutil

from bench import (
    agenda,
    dataset,
    documents,
    driver,
    floor,
    http_rows,
    million,
    policy_sweep,
    portfolio,
    profile,
    reference,
    revocation_check,
    scorecard,
    spread,
    tasks_loop,
)
from bench.report import print_report
from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.settings import CommonSettings
from launcher import throwaway
from launcher.apps import ALL_APPS, ROOT

PORT_OFFSET = 1000
STACK_ENV = {
    "CRM_LOG_LEVEL": "WARNING",  # production logs one JSON line per request at INFO; see the README
    "GATEWAY_RATE_LIMIT": "100000000/minute",
    "CRM_DB_POOL_SIZE": "20",
    # The policy sweep is measured on its own (bench/policy_sweep.py), not mid-scenario.
    "POLICIES_SWEEP_INTERVAL_SECONDS": "0",
}
RESULTS = ROOT / "bench" / "results"


def say(message: str) -> None:
    print(f"bench | {message}", flush=True)


def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """One scenario, driven from its own process."""
    try:
        outcome = driver.in_own_process(spec)
    except RuntimeError as exc:
        raise SystemExit(f"bench: {exc}") from exc
    say(
        f"{spec['name']}: {outcome['throughput']} req/s, p50 {outcome['p50_ms']:.2f} ms, "
        f"p99 {outcome['p99_ms']:.2f} ms, non-2xx {outcome['non_2xx']}, errors {outcome['errors']}"
    )
    return outcome


def actors(data: dataset.DataSet, settings: CommonSettings) -> list[dict[str, Any]]:
    return [
        {
            "token": issue_access_token(
                settings, user_id=a.user_id, role=Role.AGENT, team_id=a.team_id, ttl=timedelta(hours=2)
            ),
            "client_ids": [str(c) for c in a.client_ids],
        }
        for a in data.agents
    ]


def rss_mb(state: dict[str, Any]) -> dict[str, float]:
    sizes: dict[str, float] = {}
    for name, app in state["apps"].items():
        try:
            sizes[name] = round(psutil.Process(app["pid"]).memory_info().rss / 2**20, 1)
        except psutil.Error:
            sizes[name] = float("nan")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument(
        "--agents", type=int, default=None, help="default: clients / 2,000 (50 at 100k, 500 at 1M)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=300.0, help="the fixed-rate GET runs, requests/s")
    parser.add_argument("--list-rate", type=float, default=100.0, help="the fixed-rate list run, requests/s")
    parser.add_argument("--keep", action="store_true", help="keep the crm_bench database afterwards")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the HTTP rows N times on the same stack: median and spread"
    )
    parser.add_argument(
        "--only",
        choices=("all", "http"),
        default="all",
        help="http: only the HTTP rows (skips the one-agent agenda, revocation check, policy sweep, tasks"
        " loop, scorecard and documents)",
    )
    args = parser.parse_args()
    if args.clients > million.BASE_CLIENTS:  # the scale run: 100k and this size side by side
        million.run(args.clients, keep=args.keep)
        return
    # At least two: the last agent only writes (the create row), the others only read.
    args.agents = args.agents or max(2, args.clients // million.CLIENTS_PER_AGENT)

    settings = CommonSettings(environment="development")
    figures: dict[str, Any] = {"args": vars(args)}
    with throwaway.database_server("bench") as server_url:
        url = throwaway.recreate_database(server_url, "crm_bench")
        started = time.perf_counter()
        for spec in ALL_APPS:
            upgrade_to_head(spec.migrations_dir, url)
        figures["migrate_seconds"] = round(time.perf_counter() - started, 2)
        data = asyncio.run(dataset.load_people(url, agents=args.agents, teams=max(1, args.agents // 10)))
        first = min(10_000, args.clients)
        figures["load_10k_seconds"] = round(asyncio.run(dataset.load_clients(url, data, count=first)), 2)
        say(f"loaded {first} clients in {figures['load_10k_seconds']} s (COPY)")

        with (
            throwaway.running_stack(
                url, name="bench", port_offset=PORT_OFFSET, demo_data=False, env=STACK_ENV
            ) as state,
            reference.running(url, port=reference.PORT + PORT_OFFSET, env=STACK_ENV) as ref,
        ):
            gateway = f"http://127.0.0.1:{8000 + PORT_OFFSET}"
            direct = f"http://127.0.0.1:{8101 + PORT_OFFSET}"
            people = actors(data, settings)
            common = {
                "duration": args.duration,
                "actors": people,
                "mode": "closed",
                "concurrency": args.concurrency,
            }
            list_spec = {
                **common,
                "kind": "list_clients",
                "query": "limit=50&channel=referral",
                "base_url": gateway,
            }
            figures["list_10k"] = drive({**list_spec, "name": "(c) list 50, filtered, 10k rows"})
            figures["list_10k"].pop("hdr")

            rest = args.clients - first
            if rest > 0:
                took = asyncio.run(dataset.load_clients(url, data, count=rest))
                figures["load_rest_seconds"] = round(took, 2)
                say(f"loaded {rest} more clients in {took:.1f} s ({rest / took:,.0f} rows/s)")
            single = asyncio.run(agenda.grow_agent(url, data))  # the agenda's 5,000-client agent
            book = figures["portfolio"] = asyncio.run(portfolio.load_portfolio(url, data))
            say(f"loaded {book['policies']} policies, {book['claims']} claims in {book['seconds']} s (COPY)")
            figures["settle_seconds"] = round(asyncio.run(dataset.settle(url)), 2)
            say(f"vacuumed, analysed and checkpointed in {figures['settle_seconds']} s")
            # The services' event feeds and sweeps catch up with the bulk load first (for a minute or
            # more, most of a core: measured 2026-12-01): that work is not the rows' to pay for.
            quiet = figures["apps_quiet_seconds"] = profile.settle([state], limit_seconds=300)
            say(f"apps quiet after {quiet} s" if quiet is not None else "apps still busy after 300 s")
            # The last agent writes (the create row); the rows that read never act as it.
            people = actors(data, settings)
            readers, writer = people[:-1], people[-1:]
            common["actors"] = readers
            list_spec["actors"] = readers
            probe = httpx.get(
                f"{gateway}/api/v1/agenda", headers={"Authorization": f"Bearer {people[0]['token']}"}
            )
            pids = {name: app["pid"] for name, app in state["apps"].items()} | {"reference": ref["pid"]}
            runs = []
            for index in range(args.repeat):
                say(f"HTTP rows, run {index + 1} of {args.repeat}")
                runs.append(
                    http_rows.run_once(
                        drive,
                        urls={"direct": direct, "gateway": gateway, "reference": ref["url"]},
                        common=common,
                        list_spec=list_spec,
                        rate=args.rate,
                        list_rate=args.list_rate,
                        rows_label=f"{data.clients // 1000}k",
                        with_agenda=probe.status_code != 404,
                        pids=pids,
                        writer=writer,
                        settle=lambda: profile.settle([state], limit_seconds=120),
                    )
                )
            if probe.status_code != 404 and args.only == "all":
                figures["agenda_single"] = agenda.measure(
                    gateway, people[0]["token"], clients=len(single.client_ids)
                )
                say(f"agenda, one agent: {figures['agenda_single']}")
            figures["rss_mb"] = rss_mb(state) | rss_mb({"apps": {"reference": ref}})
        figures["floor"] = asyncio.run(floor.measure(url, [c for a in data.agents for c in a.client_ids]))
        if args.only == "all":
            figures["revocation_check"] = revocation_check.measure(settings)
            figures["policy_sweep"] = policy_sweep.measure(server_url)
            say(f"policy sweep over 50,000 policies: {figures['policy_sweep']}")
            say("the agent's working loop: event → SSE, e-mails per second, reminder sweep (own database)")
            figures["tasks_loop"] = tasks_loop.run(server_url)
            figures["scorecard"] = scorecard.measure(server_url)
            say(f"team scorecard, 50 agents x 12 months: {figures['scorecard']}")
            say("documents: a 5 MB PDF up and down, and a 50 MB stream, on local files and S3 (moto)")
            figures["documents"] = documents.run(server_url)
        figures["histograms"] = str(spread.keep_histograms(runs, RESULTS))
        figures["runs"] = runs
        figures["clients"] = data.clients
        if not args.keep:
            throwaway.drop_database(server_url, "crm_bench")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(figures, indent=2, default=str))
    print_report(figures)


if __name__ == "__main__":
    main()
