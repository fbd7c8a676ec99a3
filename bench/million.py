"""A book of a million: ``make bench BENCH_ARGS='--clients 1000000'`` (or ``python -m bench.million``).

One invocation measures two books in one database, one after the other:

1. 100,000 clients with 50 agents (2,000 each, in teams of 10), 50,000 in-force policies and 2,500
   claims, by COPY; every user-triggerable query measured (``bench/plans.py``);
2. grown to ``--clients`` (default 1,000,000) with agents, policies and claims in the same
   proportions — 500 agents, 500,000 policies, 25,000 claims at 1M — and measured again.

Each agent's own book is the same size at both scales (2,000 clients), so an agent's queries should
cost the same; a team lead's team is 10 agents at both; an admin's scope is the whole book. Figures
go to ``bench/results/million.json``, the plans at the larger scale to ``bench/results/plans-1m/``
(the file names say the call and the role; ``summary.txt`` has every call), and the 100k vs 1M
table is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from bench import dataset, plans, portfolio
from crmkit.migrations import upgrade_to_head
from launcher import throwaway
from launcher.apps import ALL_APPS, ROOT
from launcher.throwaway import plain

RESULTS = ROOT / "bench" / "results"
BASE_CLIENTS = 100_000
CLIENTS_PER_AGENT = 2_000
AGENTS_PER_TEAM = 10
BULK_TABLES = (
    "clients.clients",
    "policies.applications",
    "policies.policies",
    "policies.premium_dues",
    "claims.claims",
)
HEADLINE = 7  # the searches, GET by id, the agenda and duplicates: their plans are always saved


def say(message: str) -> None:
    print(f"bench | {message}", flush=True)


@contextlib.asynccontextmanager
async def indexes_set_aside(url: str) -> AsyncIterator[None]:
    """The big tables' secondary indexes dropped for the bulk load and built again after it (as a
    bulk load in production would; maintaining ~15 indexes row by row on random UUIDs is what makes
    a load of a million slow). Constraints' indexes (primary keys, unique) stay."""
    conn = await asyncpg.connect(plain(url))
    try:
        indexes = await conn.fetch(
            "SELECT format('%I.%I', schemaname, indexname) AS name, indexdef FROM pg_indexes i"
            " WHERE schemaname || '.' || tablename = ANY($1::text[])"
            " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conname = i.indexname)",
            list(BULK_TABLES),
        )
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")
        yield
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
    finally:
        await conn.close()


async def grow(url: str, clients: int, *, first_serial: int) -> tuple[dataset.DataSet, dict[str, Any]]:
    """``clients`` more clients with their own agents and teams, their policies and claims."""
    agents = max(1, clients // CLIENTS_PER_AGENT)
    data = await dataset.load_people(
        url, agents=agents, teams=max(1, agents // AGENTS_PER_TEAM), first=first_serial
    )
    started = time.perf_counter()
    async with indexes_set_aside(url):
        took = await dataset.load_clients(url, data, count=clients, seed=first_serial + 7)
        book = await portfolio.load_portfolio(url, data, first_serial=first_serial)
    book["with_indexes_seconds"] = round(time.perf_counter() - started, 1)
    settled = await dataset.settle(url)
    return data, {
        "agents": agents,
        "clients": clients,
        "clients_seconds": round(took, 1),
        **book,
        "settle_seconds": round(settled, 1),
    }


def _row(label: str, role: str, small: plans.Measured | None, large: plans.Measured) -> str:
    before = f"{small.p50_ms:9.2f} {small.slowest_statement_ms:9.2f}" if small else f"{'-':>9} {'-':>9}"
    ratio = f"{large.p50_ms / small.p50_ms:5.1f}x" if small and small.p50_ms else "     -"
    return (
        f"{label[:44]:<44} {role:<9} {before} {large.p50_ms:9.2f} {large.slowest_statement_ms:9.2f} "
        f"{ratio} {', '.join(large.seq_scans) or '-'}"
    )


def report(small: list[plans.Measured], large: list[plans.Measured], sizes: tuple[int, int]) -> list[str]:
    """The 100k vs 1M table: app latency (median of 3, in process) and the slowest statement's
    execution time under EXPLAIN ANALYZE, then any call whose plan scans a big table."""
    index = {(m.label, m.role): m for m in small}
    a, b = (f"{n // 1000}k" if n < 1_000_000 else f"{n / 1_000_000:g}M" for n in sizes)
    lines = [
        f"{'call':<44} {'role':<9} {'app ' + a:>9} {'sql ' + a:>9} {'app ' + b:>9} {'sql ' + b:>9} "
        f"{'ratio':>6} seq scans at {b}",
        "-" * 120,
    ]
    headline = list(dict.fromkeys(m.label for m in large))[:HEADLINE]
    for m in large:
        if m.label in headline:
            lines.append(_row(m.label, m.role, index.get((m.label, m.role)), m))
    swept = [m for m in large if m.label not in headline]
    flagged = [m for m in swept if m.seq_scans]
    worst = sorted(swept, key=lambda m: m.p50_ms, reverse=True)[:10]
    lines += ["", f"every other GET route ({len(swept)} calls): the ten slowest at {b}"]
    lines += [_row(m.label, m.role, index.get((m.label, m.role)), m) for m in worst]
    lines += ["", f"calls whose plans read a big table sequentially at {b}: {len(flagged)}"]
    lines += [_row(m.label, m.role, index.get((m.label, m.role)), m) for m in flagged]
    failed = [m for m in large if m.status >= 400]
    if failed:
        lines += ["", "calls that did not answer 2xx (left out of the comparison's meaning):"]
        lines += [f"  {m.status} {m.label} as {m.role}" for m in failed]
    return lines


def run(clients: int, *, base: int = BASE_CLIENTS, keep: bool = False) -> dict[str, Any]:
    figures: dict[str, Any] = {"sizes": [base, clients]}
    with throwaway.database_server("bench") as server_url:
        url = throwaway.recreate_database(server_url, "crm_bench_million")
        try:
            for spec in ALL_APPS:
                upgrade_to_head(spec.migrations_dir, url)
            first, figures["load_base"] = asyncio.run(grow(url, base, first_serial=0))
            say(f"book of {base:,}: {figures['load_base']}")
            started = time.perf_counter()
            small = asyncio.run(plans.measure(url, first.agents[0]))
            say(f"measured {len(small)} calls in {time.perf_counter() - started:.0f} s")
            _, figures["load_rest"] = asyncio.run(grow(url, clients - base, first_serial=base))
            say(f"grown to {clients:,}: {figures['load_rest']}")
            started = time.perf_counter()
            large = asyncio.run(plans.measure(url, first.agents[0]))
            say(f"measured {len(large)} calls in {time.perf_counter() - started:.0f} s")
        finally:
            if not keep:
                throwaway.drop_database(server_url, "crm_bench_million")
    figures["small"] = plans.as_json(small)
    figures["large"] = plans.as_json(large)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "1m" if clients == 1_000_000 else f"{clients // 1000}k"
    plans.save_plans(large, RESULTS / f"plans-{suffix}", headline=HEADLINE)
    figures["table"] = report(small, large, (base, clients))
    (RESULTS / "million.json").write_text(json.dumps(figures, indent=2, default=str, ensure_ascii=False))
    print("\n".join(figures["table"]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.million", description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=BASE_CLIENTS, help="the smaller book it is compared with")
    parser.add_argument("--keep", action="store_true", help="keep the crm_bench_million database")
    args = parser.parse_args()
    if args.clients <= args.base:
        raise SystemExit(f"--clients must be above --base ({args.base:,}, the book it is compared with)")
    run(args.clients, base=args.base, keep=args.keep)


if __name__ == "__main__":
    main()
