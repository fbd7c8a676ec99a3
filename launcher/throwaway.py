"""A throwaway stack for the benchmark and the contract fuzzer: a fresh database and the real
launcher on it, on offset ports and a data folder of its own, stopped (no orphan) on exit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from crmkit import embedded
from launcher.apps import ROOT

READY_TIMEOUT_SECONDS = 180


def plain(url: str) -> str:
    """asyncpg wants ``postgresql://``; SQLAlchemy URLs may carry ``+asyncpg``."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    return make_url(plain(url)).set(database=name).render_as_string(hide_password=False)


@contextmanager
def database_server(name: str) -> Iterator[str]:
    """``CRM_TEST_DATABASE_URL``'s server when set, else an embedded one under ``.data/<name>-pg``."""
    configured = os.environ.get("CRM_TEST_DATABASE_URL")
    if configured:
        yield plain(configured)
        return
    handle = embedded.start(ROOT / ".data" / f"{name}-pg")
    try:
        yield handle.get_uri()
    finally:
        handle.cleanup()


async def _admin(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(plain(server_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def recreate_database(server_url: str, name: str) -> str:
    asyncio.run(
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    )
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def running_stack(
    url: str, *, name: str, port_offset: int, demo_data: bool, env: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """``python -m launcher run`` on ``url``; yields its ``launcher.json`` once every app is ready."""
    with running_stacks(url, [(name, port_offset, env or {})], demo_data=demo_data) as (state,):
        yield state


@contextmanager
def running_stacks(
    url: str,
    stacks: Sequence[tuple[str, int, Mapping[str, str]]],
    *,
    demo_data: bool,
    ready_timeout: float = READY_TIMEOUT_SECONDS,
) -> Iterator[list[dict[str, Any]]]:
    """Several launchers on one database at once, each ``(name, port offset, environment)``: the
    replicas of every app (tests/test_scale_replicas_two.py). Yields their ``launcher.json`` once
    every app of every stack is ready; stops them all (no orphan) on exit."""
    processes: list[tuple[subprocess.Popen[bytes], Path, str]] = []
    with contextlib.ExitStack() as logs:
        try:
            for name, port_offset, env in stacks:
                data_dir = ROOT / ".data" / name
                data_dir.mkdir(parents=True, exist_ok=True)
                state_file = data_dir / "launcher.json"
                state_file.unlink(missing_ok=True)
                child_env = {
                    **os.environ,
                    "CRM_DATABASE_URL": url,
                    "CRM_DEMO_DATA": "1" if demo_data else "0",
                    "CRM_DATA_DIR": str(data_dir),
                    "CRM_PORT_OFFSET": str(port_offset),
                    **env,
                }
                log = logs.enter_context((data_dir / "launcher.log").open("w"))
                process = subprocess.Popen(  # our own interpreter and module
                    [sys.executable, "-m", "launcher", "run"],
                    cwd=ROOT,
                    env=child_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                processes.append((process, state_file, log.name))
            yield [_wait_ready(*launched, ready_timeout) for launched in processes]
        finally:
            for process, _, _ in processes:
                process.send_signal(signal.SIGINT)
            for process, _, _ in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_ready(
    process: subprocess.Popen[bytes],
    state_file: os.PathLike[str],
    log_name: str,
    timeout: float = READY_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the launcher exited before the stack was ready; see {log_name}")
        try:
            with open(state_file, encoding="utf-8") as handle:
                state: dict[str, Any] = json.load(handle)
            if state.get("status") == "ready":
                return state
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the stack did not become ready within {timeout:.0f} s; see {log_name}")
