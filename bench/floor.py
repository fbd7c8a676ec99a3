"""The floor: one prepared asyncpg primary-key ``fetchrow`` on one connection, no HTTP at all."""

from __future__ import annotations

import random
import time
import uuid

import asyncpg
from hdrh.histogram import HdrHistogram

from launcher.throwaway import plain


async def measure(url: str, client_ids: list[uuid.UUID], *, iterations: int = 5000) -> dict[str, float]:
    conn = await asyncpg.connect(plain(url))
    try:
        statement = await conn.prepare(
            "SELECT id, name, gender, birth_date, resident_id_masked, phone_masked, occupation, "
            "occupation_class, channel, tier, owner_agent_id, team_id, version, created_at, updated_at "
            "FROM clients.clients WHERE id = $1 AND deleted_at IS NULL"
        )
        rng = random.Random(3)
        histogram = HdrHistogram(1, 10_000_000, 3)
        for _ in range(200):
            await statement.fetchrow(rng.choice(client_ids))
        began = time.perf_counter()
        for _ in range(iterations):
            started = time.perf_counter()
            await statement.fetchrow(rng.choice(client_ids))
            histogram.record_value(max(1, int((time.perf_counter() - started) * 1_000_000)))
        elapsed = time.perf_counter() - began
    finally:
        await conn.close()
    return {
        "throughput": round(iterations / elapsed, 1),
        "p50_ms": histogram.get_value_at_percentile(50) / 1000,
        "p95_ms": histogram.get_value_at_percentile(95) / 1000,
        "p99_ms": histogram.get_value_at_percentile(99) / 1000,
    }
