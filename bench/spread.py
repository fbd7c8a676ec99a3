"""``--repeat N``: each HTTP row's median and spread over the runs, issue 22's targets run by run,
and the raw HDR histograms of every row and run kept under ``bench/results/histograms/``."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from hdrh.histogram import HdrHistogram

from bench.http_rows import KIND_OF_ROW, REFERENCE_OF_KIND

HOP_P50_MS = 0.5
HOP_P99_MS = 3.0
HOP_SHARE = 0.8  # "in at least 4 of 5 runs"
DIRECT_OVER_REFERENCE = 1.5
LIST_CPU_MS = 3.0
LIST_P99_MS = 15.0
POST_SHARE = 0.5
AGENDA_RPS = 150.0
RSS_TARGET_MB = 120


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def reference_ratio(runs: list[dict[str, Any]], key: str, field: str) -> float:
    """The median over the runs of this row's ``field`` over the reference row of its kind, in one run."""
    reference = REFERENCE_OF_KIND[KIND_OF_ROW.get(key, "closed")]
    ratios = [
        _ratio(run[key][field], run[reference][field]) for run in runs if key in run and reference in run
    ]
    return statistics.median(ratios) if ratios else math.nan


@dataclass(frozen=True)
class RowSummary:
    name: str
    runs: int
    throughput: float
    p50: float
    p50_low: float
    p50_high: float
    p99: float
    p99_low: float
    p99_high: float
    failed: int
    partial: int
    app_cpu_ms: float
    db_cpu_ms: float
    p50_over_reference: float
    p99_over_reference: float


def summarise(runs: list[dict[str, Any]], key: str) -> RowSummary | None:
    rows = [run[key] for run in runs if key in run]
    if not rows:
        return None
    p50s, p99s = [r["p50_ms"] for r in rows], [r["p99_ms"] for r in rows]
    cpu = [r["app_cpu_ms"] for r in rows if r.get("app_cpu_ms") is not None]
    database = [r["db_cpu_ms"] for r in rows if r.get("db_cpu_ms") is not None]
    return RowSummary(
        name=rows[0]["name"],
        runs=len(rows),
        throughput=statistics.median(r["throughput"] for r in rows),
        p50=statistics.median(p50s),
        p50_low=min(p50s),
        p50_high=max(p50s),
        p99=statistics.median(p99s),
        p99_low=min(p99s),
        p99_high=max(p99s),
        failed=sum(r["non_2xx"] + r["errors"] for r in rows),
        partial=sum(r.get("partial", 0) for r in rows),
        app_cpu_ms=statistics.median(cpu) if cpu else math.nan,
        db_cpu_ms=statistics.median(database) if database else math.nan,
        p50_over_reference=reference_ratio(runs, key, "p50_ms"),
        p99_over_reference=reference_ratio(runs, key, "p99_ms"),
    )


@dataclass(frozen=True)
class Target:
    """One of issue 22's targets: the value of each run, how many runs held it, and the verdict."""

    label: str
    values: list[str]
    held: int
    runs: int
    met: bool
    rule: str


def cpu_per_request_ms(throughput: float) -> float:
    """The machine's CPU per request in a saturated closed loop: every core's time over the requests
    (what ``make bench`` called "CPU a page" until 2026-12-02; the driver, idle time and every other
    process included)."""
    return (psutil.cpu_count() or 1) * 1000 / throughput if throughput else math.nan


def served_cpu_ms(row: dict[str, Any]) -> float:
    """The CPU the stack spent per request, counted from its processes: the apps (the reference app
    left out) and PostgreSQL's processes. The driver, which stands for the agents' phones, is not
    the product's cost. NaN for a row recorded before the bench counted PostgreSQL."""
    by_app, database = row.get("app_cpu_ms_by_app"), row.get("db_cpu_ms")
    if by_app is None or database is None:
        return math.nan
    return float(sum(ms for app, ms in by_app.items() if app != "reference")) + float(database)


def _target(label: str, checks: list[tuple[bool, str]], *, share: float | None = None) -> Target:
    held = sum(ok for ok, _ in checks)
    runs = len(checks)
    if share is None:  # read on the median run: held in more than half of them
        return Target(label, [v for _, v in checks], held, runs, held * 2 > runs, "in most runs")
    return Target(
        label,
        [v for _, v in checks],
        held,
        runs,
        held >= math.ceil(share * runs),
        f"in ≥ {share:.0%} of runs",
    )


def targets(runs: list[dict[str, Any]], *, rate: float, list_rate: float) -> list[Target]:
    """Issue 22's targets, run by run (RSS is read once, at the end: see ``rss_target``)."""
    found: list[Target] = []

    def each(fn: Any) -> list[tuple[bool, str]]:
        return [fn(run) for run in runs]

    def over_reference(seq: str, ref: str) -> Any:
        def check(run: dict[str, Any]) -> tuple[bool, str]:
            ratio = _ratio(run[seq]["p50_ms"], run[ref]["p50_ms"])
            return ratio <= DIRECT_OVER_REFERENCE, f"{ratio:.2f}x"

        return check

    found.append(
        _target(
            f"GET by id direct p50, sequential ≤ {DIRECT_OVER_REFERENCE}x the reference",
            each(over_reference("seq_direct", "seq_reference")),
        )
    )
    found.append(
        _target(
            f"GET by id direct p50, at a steady {rate:.0f}/s ≤ {DIRECT_OVER_REFERENCE}x the reference",
            each(over_reference("steady_direct", "steady_reference")),
        )
    )

    def hop(run: dict[str, Any]) -> tuple[bool, str]:
        p50 = run["steady"]["p50_ms"] - run["steady_direct"]["p50_ms"]
        p99 = run["steady"]["p99_ms"] - run["steady_direct"]["p99_ms"]
        return p50 <= HOP_P50_MS and p99 <= HOP_P99_MS, f"{p50:+.2f}/{p99:+.2f} ms"

    found.append(
        _target(
            f"gateway hop at a steady {rate:.0f}/s ≤ +{HOP_P50_MS} ms p50 / +{HOP_P99_MS:.0f} ms p99",
            each(hop),
            share=HOP_SHARE,
        )
    )

    def list_cpu(run: dict[str, Any]) -> tuple[bool, str]:
        row = run["list"]
        served, machine = served_cpu_ms(row), cpu_per_request_ms(row["throughput"])
        if math.isnan(served):  # a run recorded before PostgreSQL was counted: the machine's figure
            return machine <= LIST_CPU_MS, f"{machine:.1f} ms (the machine's)"
        apps = served - float(row["db_cpu_ms"])
        return served <= LIST_CPU_MS, (
            f"{served:.1f} ms (apps {apps:.1f}, PostgreSQL {row['db_cpu_ms']:.1f}; machine {machine:.1f})"
        )

    found.append(
        _target(
            f"list of 50, CPU per page ≤ {LIST_CPU_MS:.0f} ms (closed loop; apps + PostgreSQL)",
            each(list_cpu),
        )
    )

    def list_p99(run: dict[str, Any]) -> tuple[bool, str]:
        p99 = run["list_steady"]["p99_ms"]
        return p99 <= LIST_P99_MS, f"{p99:.1f} ms"

    found.append(
        _target(f"list of 50, p99 at a steady {list_rate:.0f}/s ≤ {LIST_P99_MS:.0f} ms", each(list_p99))
    )

    def post(run: dict[str, Any]) -> tuple[bool, str]:
        share = _ratio(run["create"]["throughput"], run["gateway"]["throughput"])
        settled = run["create"].get("settled_after_s")
        quiet = "" if "settled_after_s" not in run["create"] else f" (apps quiet {settled} s after)"
        return share >= POST_SHARE, f"{share:.0%}{quiet}"

    found.append(
        _target(f"POST + Idempotency-Key ≥ {POST_SHARE:.0%} of GET's throughput (gateway)", each(post))
    )
    if all("agenda" in run for run in runs):

        def agenda(run: dict[str, Any]) -> tuple[bool, str]:
            row = run["agenda"]
            failed = row["non_2xx"] + row["errors"]
            ok = row["throughput"] >= AGENDA_RPS and row.get("partial", 0) == 0 and failed == 0
            detail = f"{row['throughput']:.0f}/s, {row.get('partial', 0)} partial, {failed} failed"
            if row.get("requests"):
                detail += f", {row.get('kept', 0) / row['requests']:.0%} served kept"
            asked = run.get("agenda_asked")
            if asked:
                detail += f"; no-cache {asked['throughput']:.0f}/s, {asked.get('partial', 0)} partial"
            return ok, detail

        found.append(
            _target(f"agenda, 16 connections ≥ {AGENDA_RPS:.0f} req/s, no partial answers", each(agenda))
        )
    return found


def rss_target(rss: dict[str, float]) -> tuple[str, bool]:
    worst = max(rss.values()) if rss else math.nan
    text = ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items())
    return text, worst < RSS_TARGET_MB


def keep_histograms(runs: list[dict[str, Any]], results: Path) -> Path:
    """Every row's histogram of every run: ``histograms.json`` (HdrHistogram's encoded form, µs) and a
    ``run<k>-<row>.hgrm`` percentile distribution in ms. Strips them from ``runs`` (they are big)."""
    folder = results / "histograms" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    encoded: dict[str, dict[str, str]] = {}
    for index, run in enumerate(runs, start=1):
        for key, row in run.items():
            blob = row.pop("hdr", None)
            if blob is None:
                continue
            encoded.setdefault(f"run{index}", {})[key] = blob
            with (folder / f"run{index}-{key}.hgrm").open("wb") as out:
                HdrHistogram.decode(blob).output_percentile_distribution(out, 1000)
    (folder / "histograms.json").write_text(json.dumps({"unit": "us", "runs": encoded}, indent=1))
    return folder
