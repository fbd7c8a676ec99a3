"""The agenda's own figures: one agent with 5,000 clients, asked for their agenda one request at a
time. Latency (median, p99) as the caller sees it, and the ratio of that latency to the slowest
single service call the gateway made for it (each response's ``sources`` gives the per-service
times): about 1 when the calls run in parallel, about the number of services when they do not.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

from bench import dataset

AGENT_CLIENTS = 5_000
REQUESTS = 300
WARMUP = 20
RATIO_TARGET = 1.3


async def grow_agent(url: str, data: dataset.DataSet, *, clients: int = AGENT_CLIENTS) -> dataset.Agent:
    """The first agent, topped up to ``clients`` clients (before the portfolio is loaded)."""
    agent = data.agents[0]
    missing = clients - len(agent.client_ids)
    if missing > 0:
        await dataset.load_clients(url, dataset.DataSet(agents=[agent], teams=data.teams), count=missing)
    return agent


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(gateway: str, token: str, *, clients: int, requests: int = REQUESTS) -> dict[str, Any]:
    """Sequential agenda requests for one agent: latency, slowest source, and their ratio."""
    latencies: list[float] = []
    slowest: list[float] = []
    ratios: list[float] = []
    failures = 0
    partial = 0
    sections: dict[str, int] = {}
    # Every service asked each time (``no-cache``): this measures the fan-out, not the kept agenda.
    asked = {"Authorization": f"Bearer {token}", "Cache-Control": "no-cache"}
    with httpx.Client(base_url=gateway, headers=asked, timeout=30) as http:
        for _ in range(WARMUP):
            http.get("/api/v1/agenda")
        for _ in range(requests):
            started = time.perf_counter()
            response = http.get("/api/v1/agenda")
            took = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                failures += 1
                continue
            body = response.json()
            partial += bool(body["partial"])
            worst = max(s["latency_ms"] for s in body["sources"])
            latencies.append(took)
            slowest.append(worst)
            ratios.append(took / worst if worst else float("nan"))
            sections = {k: v["count"] for k, v in body.items() if isinstance(v, dict) and "count" in v}
    if not latencies:
        return {"clients": clients, "requests": requests, "failures": failures}
    return {
        "clients": clients,
        "requests": requests,
        "failures": failures,
        "partial": partial,
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "slowest_source_p50_ms": round(statistics.median(slowest), 2),
        "slowest_source_p99_ms": round(_percentile(slowest, 0.99), 2),
        "ratio_p50": round(statistics.median(ratios), 3),
        "ratio_p99": round(_percentile(ratios, 0.99), 3),
        "sections": sections,
    }


def report_lines(figures: dict[str, Any]) -> list[str]:
    """The agenda's lines of the bench table."""
    a = figures.get("agenda_single")
    if not a:
        return []
    if "p50_ms" not in a:
        return [f"  agenda ({a['clients']:,} clients): every request failed ({a['failures']})"]
    met = "met" if a["ratio_p50"] <= RATIO_TARGET else "MISSED"
    return [
        f"  agenda, one agent with {a['clients']:,} clients, {a['requests']} sequential requests: "
        f"p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms "
        f"({a['failures']} failed, {a['partial']} partial)",
        f"    slowest service call p50 {a['slowest_source_p50_ms']:.2f} ms; agenda / slowest call: "
        f"p50 {a['ratio_p50']:.2f}, p99 {a['ratio_p99']:.2f} (target ≤ {RATIO_TARGET}: {met})",
    ]


def main() -> None:
    """``python -m bench.agenda``: only the agenda's figures, on a stack of its own (own database
    ``crm_bench_agenda``, ports offset by 1100), so it can run beside ``make bench``."""
    import asyncio
    import json
    from datetime import timedelta

    from bench import portfolio
    from crmkit.auth import Role, issue_access_token
    from crmkit.migrations import upgrade_to_head
    from crmkit.settings import CommonSettings
    from launcher import throwaway
    from launcher.apps import ALL_APPS

    env = {"CRM_LOG_LEVEL": "WARNING", "GATEWAY_RATE_LIMIT": "100000000/minute", "CRM_DB_POOL_SIZE": "20"}
    with throwaway.database_server("bench") as server_url:
        url = throwaway.recreate_database(server_url, "crm_bench_agenda")
        try:
            for spec in ALL_APPS:
                upgrade_to_head(spec.migrations_dir, url)
            data = asyncio.run(dataset.load_people(url, agents=10, teams=1))
            agent = asyncio.run(grow_agent(url, data))
            asyncio.run(portfolio.load_portfolio(url, data))
            token = issue_access_token(
                CommonSettings(environment="development"),
                user_id=agent.user_id,
                role=Role.AGENT,
                team_id=agent.team_id,
                ttl=timedelta(hours=1),
            )
            with throwaway.running_stack(
                url, name="bench-agenda", port_offset=1100, demo_data=False, env=env
            ):
                figures = {
                    "agenda_single": measure("http://127.0.0.1:9100", token, clients=len(agent.client_ids))
                }
        finally:
            throwaway.drop_database(server_url, "crm_bench_agenda")
    print(json.dumps(figures, indent=2))
    for line in report_lines(figures):
        print(line)


if __name__ == "__main__":
    main()
