"""``crmkit.memory_trim``: the heap is trimmed after a busy spell, never while the app idles, and the
real ``malloc_trim`` is found on this (glibc) machine and gives memory back."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from crmkit import memory_trim


async def run_for(seconds: float, **options: object) -> None:
    task = asyncio.create_task(memory_trim.trim_after_busy_spells(0.01, **options))  # type: ignore[arg-type]
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_only_a_busy_spell_is_trimmed_after() -> None:
    trims: list[int] = []
    clock = {"cpu": 0.0}

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    await run_for(0.1, trim=trim, cpu_seconds=lambda: clock["cpu"])
    assert trims == []  # idle: nothing new to give back
    clock["cpu"] = memory_trim.BUSY_CPU_SECONDS  # a busy spell
    await run_for(0.1, trim=trim, cpu_seconds=lambda: clock["cpu"])
    assert trims == []  # the spell was before this loop's first look
    task = asyncio.create_task(
        memory_trim.trim_after_busy_spells(0.01, trim=trim, cpu_seconds=lambda: clock["cpu"])
    )
    await asyncio.sleep(0.03)
    clock["cpu"] += memory_trim.BUSY_CPU_SECONDS
    await asyncio.sleep(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert trims == [0]  # once for the spell, then idle again


async def test_off_when_the_interval_is_zero() -> None:
    trims: list[int] = []

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    await memory_trim.trim_after_busy_spells(0, trim=trim)  # returns at once instead of looping
    assert trims == []


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_glibc_malloc_trim_gives_freed_memory_back() -> None:
    trim = memory_trim.malloc_trim()
    if trim is None:
        pytest.skip("not glibc")
    blocks = [bytes(8192) for _ in range(10_000)]  # ~80 MB in glibc's heap (larger than pymalloc's blocks)
    kept = blocks[1::2]  # every other one stays: the freed half are holes under live blocks
    del blocks
    before = resident_mb()
    assert trim(0) == 1  # some memory was released
    assert resident_mb() < before - 10  # the whole pages inside the ~40 MB of holes (~20 MB here)
    assert len(kept) == 5_000
