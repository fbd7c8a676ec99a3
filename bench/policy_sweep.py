"""What one run of the policies service's scheduled sweep costs over a book of 50,000 policies
(issue 16, item 8).

A database of its own (``crm_bench_sweep``), migrated for the policies service, gets 50,000
policies and 500,000 premium instalments by COPY: most in force and quiet, 1% each with a
premium past its grace period (lapse), a one-year term past its end (expiry), a term ending in
20 days (renewal notice), a cooling-off period that ended yesterday, and 0.2% lapsed more than
two years ago (termination). The sweep then runs twice as the service runs it (``run_once``):
the first run changes those policies and writes their events, the second finds nothing left
to do, which is the cost of every ordinary run.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from crmkit.clock import BusinessClock
from crmkit.db import create_engine, session_factory
from crmkit.migrations import upgrade_to_head
from crmkit.settings import CommonSettings
from launcher import throwaway
from launcher.apps import ALL_APPS
from services.policies import sweep
from services.policies.terms import add_years
from services.policies.transitions import LAPSABLE_STATES

POLICIES = 50_000
INSTALMENTS = 10
DATABASE = "crm_bench_sweep"
ZONE = ZoneInfo("Asia/Shanghai")
PREMIUM = Decimal("6000.00")


def _kind(n: int) -> str:
    """1% each of the four changes, 0.2% terminations; the rest quiet."""
    slot = n % 500
    if slot < 5:
        return "lapse"
    if slot < 10:
        return "expire"
    if slot < 15:
        return "renewal"
    if slot < 20:
        return "cooling_off"
    if slot == 20:
        return "terminate"
    return "quiet"


def _rows(today: date) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    policies: list[tuple[Any, ...]] = []
    dues: list[tuple[Any, ...]] = []
    now = datetime.now(UTC)
    product_id = uuid.uuid4()
    agents = [uuid.uuid4() for _ in range(50)]
    for n in range(POLICIES):
        kind = _kind(n)
        pid, owner = uuid.uuid4(), agents[n % len(agents)]
        term, expires, status, lapsed_on, lapses = "whole_life", None, "in_force", None, "[]"
        effective = today - timedelta(days=30 + n % 300)
        unpaid_from = 2  # instalment 2 onwards unpaid (due in the future for the quiet ones)
        cooling_ends = effective + timedelta(days=17)
        if kind == "lapse":
            effective = add_years(today, -1) - timedelta(days=70)
        elif kind == "expire":
            term, effective = "one_year_renewable", add_years(today, -1) - timedelta(days=3)
            expires = add_years(effective, 1)
        elif kind == "renewal":
            term, effective = "one_year_renewable", add_years(today, -1) + timedelta(days=20)
            expires = add_years(effective, 1)
        elif kind == "cooling_off":
            effective = today - timedelta(days=18)
            cooling_ends = today - timedelta(days=1)
        elif kind == "terminate":
            effective = add_years(today, -4)
            lapsed_on = add_years(effective, 1) + timedelta(days=61)
            status, lapses = "lapsed", json.dumps([{"lapsed_on": lapsed_on.isoformat(), "ended_on": None}])
        noted = kind != "cooling_off"
        policies.append(
            (
                pid, uuid.uuid4(), f"BS{n:08d}", "平安人寿", product_id, "平安福", "critical_illness",
                "protection", uuid.uuid4(), "张伟", owner, None, status, Decimal("500000.00"), PREMIUM,
                INSTALMENTS, ["critical_illness"], 15, effective, effective, effective, cooling_ends,
                effective, term, "annual", 60, 0, term == "one_year_renewable", expires, lapsed_on, lapses,
                noted, 1, now, now,
            )
        )  # fmt: skip
        instalments = 1 if term == "one_year_renewable" else INSTALMENTS
        for i in range(1, instalments + 1):
            due_on = add_years(effective, i - 1)
            paid = i < unpaid_from
            dues.append(
                (
                    uuid.uuid4(),
                    pid,
                    owner,
                    None,
                    i,
                    due_on,
                    PREMIUM,
                    "paid" if paid else "due",
                    due_on if paid else None,
                    status in LAPSABLE_STATES,
                )
            )
    return policies, dues


POLICY_COLUMNS = [
    "id", "application_id", "policy_number", "insurer", "product_id", "product_name", "category", "kind",
    "client_id", "insured_name", "owner_agent_id", "team_id", "status", "sum_insured", "annual_premium",
    "payment_years", "walls", "cooling_off_days", "issued_on", "effective_on", "receipt_signed_on",
    "cooling_off_ends_on", "in_force_on", "coverage_term", "premium_mode", "grace_days", "waiting_days",
    "renewable", "expires_on", "lapsed_on", "lapses", "cooling_off_noted", "version", "created_at",
    "updated_at",
]  # fmt: skip
DUE_COLUMNS = [
    "id",
    "policy_id",
    "owner_agent_id",
    "team_id",
    "instalment",
    "due_on",
    "amount",
    "status",
    "paid_on",
    "collectable",
]


async def _load(url: str, today: date) -> None:
    policies, dues = _rows(today)
    conn = await asyncpg.connect(url)
    try:
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda v: b"\x01" + v.encode(),
            decoder=lambda b: json.loads(b[1:]),
            schema="pg_catalog",
            format="binary",
        )
        await conn.copy_records_to_table(
            "policies", schema_name="policies", columns=POLICY_COLUMNS, records=policies
        )
        await conn.copy_records_to_table(
            "premium_dues", schema_name="policies", columns=DUE_COLUMNS, records=dues
        )
        await conn.execute("VACUUM ANALYZE policies.policies")
        await conn.execute("VACUUM ANALYZE policies.premium_dues")
    finally:
        await conn.close()


async def _run(url: str) -> dict[str, Any]:
    clock = BusinessClock(ZONE)
    await _load(url, clock.today())
    engine = create_engine(CommonSettings(database_url=url, environment="development"))
    sessions = session_factory(engine)
    try:
        started = time.perf_counter()
        busy = await sweep.run_once(sessions=sessions, clock=clock)
        busy_seconds = time.perf_counter() - started
        started = time.perf_counter()
        quiet = await sweep.run_once(sessions=sessions, clock=clock)
        quiet_seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "policies": POLICIES,
        "changed": {
            "lapsed": busy.lapsed,
            "terminated": busy.terminated,
            "expired": busy.expired,
            "cooling_off_ended": busy.cooling_off_ended,
            "renewal_due": busy.renewal_due,
        },
        "first_run_seconds": round(busy_seconds, 3),
        "quiet_run_ms": round(quiet_seconds * 1000, 1),
        "quiet_changed": quiet.total,
    }


def measure(server_url: str) -> dict[str, Any]:
    """One sweep over 50,000 policies (with changes to make), then one with nothing left to do."""
    url = throwaway.recreate_database(server_url, DATABASE)
    try:
        policies_app = next(spec for spec in ALL_APPS if spec.name == "policies")
        upgrade_to_head(policies_app.migrations_dir, url)
        return asyncio.run(_run(url))
    finally:
        throwaway.drop_database(server_url, DATABASE)


if __name__ == "__main__":
    with throwaway.database_server("bench") as server:
        print(json.dumps(measure(server), indent=2))
