"""``<data dir>/demo-data.json``: the demo data was loaded today, by this code, into this database.

A full demo load checks every record through the API: five argon2 sign-ins and some fifty lookups,
10+ s while the apps are still warming up. When the marker's fingerprint (the demo modules' source,
today's date in Shanghai, since the demo data is dated relative to today, and the database) still
matches, and no table of the apps' schemas has fewer rows than right after that load (one query
per database, asyncpg directly), the load is skipped. Anything else, a deleted record included,
runs the full load, which then writes the marker again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from launcher.apps import ALL_APPS
from launcher.config import LauncherConfig

MARKER_FILE = "demo-data.json"
ZONE = ZoneInfo("Asia/Shanghai")
_SKIPPED_TABLES = (
    "alembic_version",
    "audit_log",
    "idempotency_keys",
    "refresh_tokens",
    "revocations",
    "sign_in_throttles",
)
"""Tables that shrink on their own (purged, expired: the demo's failed first sign-in leaves a
throttle row for 15 minutes) or say nothing about the demo records."""


def _fingerprint(config: LauncherConfig, shared_url: str) -> str:
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).resolve().parent.glob("demo_*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    digest.update(datetime.now(ZONE).date().isoformat().encode())
    for spec in ALL_APPS:
        digest.update(config.database_url_for(spec, shared_url).encode())
    return digest.hexdigest()


def _schemas_by_url(config: LauncherConfig, shared_url: str) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for spec in ALL_APPS:
        url = config.database_url_for(spec, shared_url).replace("postgresql+asyncpg://", "postgresql://", 1)
        grouped.setdefault(url, []).append(spec.schema)
    return grouped


async def _row_counts(grouped: Mapping[str, list[str]]) -> dict[str, int]:
    """Rows in every table of the apps' schemas (but ``_SKIPPED_TABLES``): two queries a database."""
    import asyncpg

    counts: dict[str, int] = {}
    for url, schemas in grouped.items():
        connection = await asyncpg.connect(url)
        try:
            tables = await connection.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'"
                " AND NOT table_name = ANY($2::text[]) ORDER BY 1, 2",
                schemas,
                list(_SKIPPED_TABLES),
            )
            if not tables:
                continue
            names = [f"{_quoted(row['table_schema'])}.{_quoted(row['table_name'])}" for row in tables]
            query = " UNION ALL ".join(
                f"SELECT {index} AS i, count(*) AS n FROM {name}"  # noqa: S608 - catalogue names, quoted
                for index, name in enumerate(names)
            )
            for found in await connection.fetch(query):
                row = tables[found["i"]]
                counts[f"{row['table_schema']}.{row['table_name']}"] = int(found["n"])
        finally:
            await connection.close()
    return counts


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def still_loaded(config: LauncherConfig, shared_url: str) -> bool:
    """The marker matches, and every table counted then has at least as many rows now."""
    try:
        marker = json.loads((config.data_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("fingerprint") != _fingerprint(config, shared_url):
        return False
    recorded = marker.get("row_counts")
    if not isinstance(recorded, dict) or not recorded:
        return False
    now = asyncio.run(_row_counts(_schemas_by_url(config, shared_url)))
    return all(now.get(table, 0) >= count for table, count in recorded.items())


def record(config: LauncherConfig, shared_url: str) -> None:
    """After a full load: the fingerprint, and the rows each table has now."""
    counts = asyncio.run(_row_counts(_schemas_by_url(config, shared_url)))
    marker = {"fingerprint": _fingerprint(config, shared_url), "row_counts": counts}
    path = config.data_dir / MARKER_FILE
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(marker, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        temporary.replace(path)


def forget(config: LauncherConfig) -> None:
    """No marker: the next start runs the full load."""
    (config.data_dir / MARKER_FILE).unlink(missing_ok=True)
