"""The table ``make bench`` prints: figures, ratios to the reference app and the floor, the targets."""

from __future__ import annotations

import math
from typing import Any

from bench.agenda import report_lines as agenda_lines
from bench.http_rows import CLOSED, SEQUENTIAL, STEADY
from bench.spread import RSS_TARGET_MB, RowSummary, cpu_per_request_ms, rss_target, summarise, targets


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_report(figures: dict[str, Any]) -> None:
    print()
    print(
        f"Data: {figures['clients']:,} clients, {figures['args']['agents']} agents; migrations "
        f"{figures['migrate_seconds']} s; COPY 10k {figures['load_10k_seconds']} s, "
        f"rest {figures.get('load_rest_seconds', 0)} s"
    )
    if "portfolio" in figures:
        book = figures["portfolio"]
        print(f"      {book['policies']:,} policies in force, {book['claims']:,} claims: {book['seconds']} s")
    print(
        f"Closed-loop scenarios: {figures['args']['concurrency']} concurrent connections, "
        f"{figures['args']['duration']:g} s each; driver in its own process (aiohttp, HDR histogram)"
    )
    print()
    if "revocation_check" in figures:
        check = figures["revocation_check"]
        print(
            f"Revocation check per request: {check['check_cost_us']} µs "
            f"(token verification {check['verify_without_list_us']} µs without a list, "
            f"{check['verify_with_10k_revocations_us']} µs with 10,000 revoked subjects)"
        )
        print()
    if "policy_sweep" in figures:
        swept = figures["policy_sweep"]
        changed = sum(swept["changed"].values())
        print(
            f"Policy sweep over {swept['policies']:,} policies: {swept['first_run_seconds']} s for a run "
            f"that changes {changed:,} of them (with their events), {swept['quiet_run_ms']} ms for a run "
            "with nothing to do"
        )
        print()
    if "tasks_loop" in figures:
        loop = figures["tasks_loop"]
        stream, email, sweep = loop["stream"], loop["email"], loop["sweep"]
        event, push = stream["event_to_stream"], stream["push_only"]
        print(
            f"Tasks: event commit → in-app notification on an open SSE stream (worker every "
            f"{stream['interval_s']} s): p50 {event['p50_ms']} ms, p95 {event['p95_ms']} ms "
            f"(the push alone: p50 {push['p50_ms']} ms, p95 {push['p95_ms']} ms)"
        )
        print(f"       e-mails to a local SMTP server: {email['per_second']}/s ({email['emails']} sent)")
        print(
            f"       reminder sweep, {sweep['open_tasks']:,} open tasks: {sweep['idle_ms']} ms with none"
            f" due, {sweep['busy_ms']} ms reminding {sweep['reminded']:,}"
        )
        print()
    if "scorecard" in figures:
        card = figures["scorecard"]
        print(
            f"Team scorecard ({card['agents']} agents x {card['months']} months, a book of "
            f"{card['clients']:,} clients and {card['policies']:,} policies, precomputed from events): "
            f"JSON p50 {card['json']['p50_ms']} ms, p99 {card['json']['p99_ms']} ms (target p99 < 200 ms); "
            f"CSV p50 {card['csv']['p50_ms']} ms, "
            f"p99 {card['csv']['p99_ms']} ms; events counted {card['events_per_second']:,}/s"
        )
        print()
    for docs in figures.get("documents", []):
        if "skipped" in docs:
            print(f"Documents on {docs['backend']}: skipped ({docs['skipped']})")
            continue
        stream = docs["stream_50mb"]
        print(
            f"Documents on {docs['backend']}: a 5 MB PDF up {docs['upload_5mb_mb_per_s']} MB/s, down "
            f"{docs['download_5mb_mb_per_s']} MB/s; streaming 50 MB the service's RSS went "
            f"{stream['rss_before_mb']} → {stream['rss_peak_mb']} MB (peak) → {stream['rss_after_mb']} MB"
        )
    if figures.get("documents"):
        print()
    print_rows(figures)
    print()
    print_targets(figures)


def _spread(median: float, low: float, high: float, runs: int) -> str:
    if runs < 2:
        return f"{median:.2f}"
    return f"{median:.2f} ({low:.2f}-{high:.2f})"


def _line(s: RowSummary, floor: dict[str, float]) -> str:
    cpu = "" if math.isnan(s.app_cpu_ms) else f"{s.app_cpu_ms:.2f}"
    database = "" if math.isnan(s.db_cpu_ms) else f"{s.db_cpu_ms:.2f}"
    return (
        f"{s.name:<40} {s.throughput:>8.1f} {_spread(s.p50, s.p50_low, s.p50_high, s.runs):>20}"
        f" {_spread(s.p99, s.p99_low, s.p99_high, s.runs):>22} {s.failed:>6d} {cpu:>7} {database:>6}"
        f" {s.p50_over_reference:>6.2f}x {s.p99_over_reference:>6.2f}x {s.p50 / floor['p50_ms']:>7.1f}x"
    )


def print_rows(figures: dict[str, Any]) -> None:
    """One line per HTTP row: medians over the runs, (min-max) when there are several, app CPU per
    request, and the ratios to the reference row of the same kind and to the asyncpg floor."""
    runs: list[dict[str, Any]] = figures["runs"]
    floor = figures["floor"]
    header = (
        f"{'scenario':<40} {'req/s':>8} {'p50 ms':>20} {'p99 ms':>22} {'failed':>6} {'CPU ms':>7}"
        f" {'DB ms':>6} {'p50/ref':>7} {'p99/ref':>7} {'p50/floor':>8}"
    )
    print(
        f"HTTP rows: {len(runs)} run(s) on the same stack and data; medians, (min-max) over the runs;"
        " CPU ms = the app processes' CPU time per request, DB ms = PostgreSQL's; /ref = over the"
        " reference app's row of the same kind"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{'floor: asyncpg fetchrow, 1 conn':<40} {floor['throughput']:>8.1f} {floor['p50_ms']:>20.3f}"
        f" {floor['p99_ms']:>22.3f} {0:>6d} {'':>7} {'':>6} {'':>7} {'':>7} {1:>7.1f}x"
    )
    groups = (
        ("sequential (one connection, one request at a time):", SEQUENTIAL),
        (f"closed loop ({figures['args']['concurrency']} connections, back to back):", CLOSED),
        ("steady rate (open loop, latency from the scheduled send time):", STEADY),
    )
    for title, keys in groups:
        print(title)
        if keys is CLOSED and "list_10k" in figures:
            first = summarise([{**runs[0], "list_10k": figures["list_10k"]}], "list_10k")
            if first is not None:
                print(_line(first, floor))
        for key in keys:
            summary = summarise(runs, key)
            if summary is not None:
                print(_line(summary, floor))


def print_targets(figures: dict[str, Any]) -> None:
    runs: list[dict[str, Any]] = figures["runs"]
    args = figures["args"]
    print(f"Targets of issue 22 ({len(runs)} run(s); each run's value, held in how many):")
    for t in targets(runs, rate=args["rate"], list_rate=args["list_rate"]):
        print(f"  {t.label}: {', '.join(t.values)}")
        print(f"      held in {t.held} of {t.runs} runs ({t.rule}): {_verdict(t.met)}")
    rss, ok = rss_target(figures["rss_mb"])
    print(f"  RSS after the bench: {rss} (target < {RSS_TARGET_MB} MB each: {_verdict(ok)})")
    if "list_10k" in figures:
        small, big = figures["list_10k"], runs[0]["list"]
        flat = big["p99_ms"] <= max(2 * small["p99_ms"], small["p99_ms"] + 5)
        print(
            f"  list cost, closed loop, 10k → {figures['clients'] // 1000}k rows: "
            f"{cpu_per_request_ms(small['throughput']):.1f} → "
            f"{cpu_per_request_ms(big['throughput']):.1f} ms of the machine's CPU a page;"
            f" p99 {small['p99_ms']:.1f} → {big['p99_ms']:.1f} ms (flat: {_verdict(flat)})"
        )
    for line in agenda_lines(figures):
        print(line)
