"""The table ``make bench`` prints: figures, ratios to the floor, and the issue's targets."""

from __future__ import annotations

from typing import Any

from bench.agenda import report_lines as agenda_lines

RSS_TARGET_MB = 150


def _row(name: str, r: dict[str, Any], floor: dict[str, float]) -> str:
    return (
        f"{name:<40} {r['throughput']:>9.1f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f}"
        f" {r['non_2xx'] + r['errors']:>7d} {r['p50_ms'] / floor['p50_ms']:>8.1f}x"
        f" {r['p99_ms'] / floor['p99_ms']:>8.1f}x"
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_report(figures: dict[str, Any]) -> None:
    results: dict[str, Any] = figures["results"]
    floor = figures["floor"]
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
        f"{figures['args']['duration']:.0f} s each; driver in its own process (aiohttp, HDR histogram)"
    )
    print()
    header = (
        f"{'scenario':<40} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
        f" {'p50/floor':>9} {'p99/floor':>9}"
    )
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
    print(header)
    print("-" * len(header))
    print(
        f"{'floor: asyncpg prepared fetchrow, 1 conn':<40} {floor['throughput']:>9.1f}"
        f" {floor['p50_ms']:>8.3f} {floor['p95_ms']:>8.3f} {floor['p99_ms']:>8.3f}"
        f" {0:>7d} {1:>8.1f}x {1:>8.1f}x"
    )
    for key in ("direct", "gateway", "list_10k", "list", "create", "agenda"):
        if key in results:
            print(_row(results[key]["name"], results[key], floor))
    print("fixed rate (open loop, latency from the scheduled send time):")
    for key in ("steady_direct", "steady", "list_steady"):
        if key in results:
            print(_row(results[key]["name"], results[key], floor))
    print()
    direct, gateway = results["direct"], results["gateway"]
    steady = results["steady"]
    steady_direct = results.get("steady_direct", direct)
    hop_p50 = steady["p50_ms"] - steady_direct["p50_ms"]
    hop_p99 = steady["p99_ms"] - steady_direct["p99_ms"]
    share = gateway["throughput"] / direct["throughput"]
    list_small, list_big = results["list_10k"], results["list"]
    list_steady = results.get("list_steady", list_big)
    rss = figures["rss_mb"]
    rate = figures["args"]["rate"]
    print("Ratios and targets (2-core machine):")
    at = f"both at {rate:.0f}/s"
    print(f"  gateway hop at p50, {at}: +{hop_p50:.2f} ms (target ≤ 1 ms: {_verdict(hop_p50 <= 1)})")
    print(f"  gateway hop at p99, {at}: +{hop_p99:.2f} ms (target ≤ 5 ms: {_verdict(hop_p99 <= 5)})")
    print(f"  gateway/direct throughput, closed loop: {share:.0%} (target ≥ 60%: {_verdict(share >= 0.6)})")
    steady_ok = steady["p99_ms"] < 15 and steady["errors"] == 0 and steady["non_2xx"] == 0
    print(
        f"  (b) at a steady {rate:.0f}/s: p99 {steady['p99_ms']:.2f} ms, "
        f"{steady['errors'] + steady['non_2xx']} errors (target p99 < 15 ms, 0 errors: {_verdict(steady_ok)})"
    )
    list_ok = list_steady["p99_ms"] < 30
    flat = list_big["p99_ms"] <= max(2 * list_small["p99_ms"], list_small["p99_ms"] + 5)
    per_request = [2000 / r["throughput"] for r in (list_small, list_big)]  # ms of the 2 cores per request
    print(
        f"  list p99 at a steady {figures['args']['list_rate']:.0f}/s, {figures['clients'] // 1000}k rows: "
        f"{list_steady['p99_ms']:.2f} ms (target < 30 ms: {_verdict(list_ok)})"
    )
    print(
        f"  list cost, closed loop: {per_request[0]:.1f} ms of CPU a page at 10k rows → "
        f"{per_request[1]:.1f} ms "
        f"at {figures['clients'] // 1000}k; p99 {list_small['p99_ms']:.1f} → {list_big['p99_ms']:.1f} ms "
        f"(flat: {_verdict(flat)})"
    )
    for line in agenda_lines(figures):
        print(line)
    worst = max(rss.values()) if rss else float("nan")
    print(
        "  RSS at the end: "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items())
        + f" (target < {RSS_TARGET_MB} MB each: {_verdict(worst < RSS_TARGET_MB)})"
    )
