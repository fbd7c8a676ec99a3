"""A warm start skips the demo load only while the marker holds (launcher/demo_marker.py): same demo
code, same day, same database, and no table with fewer rows than right after the load."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from launcher import config as launcher_config
from launcher import demo_marker
from launcher.config import LauncherConfig
from launcher.throwaway import drop_database, recreate_database

NAME = "crm_test_launcher_demo_marker"


@pytest.fixture
def fresh_url(server_url: str) -> Iterator[str]:
    url = recreate_database(server_url, NAME)
    try:
        yield url
    finally:
        drop_database(server_url, NAME)


async def execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def config_for(url: str, data_dir: Path) -> LauncherConfig:
    return launcher_config.load({"CRM_DATABASE_URL": url, "CRM_DATA_DIR": str(data_dir)})


def test_the_marker_holds_until_a_demo_row_goes(fresh_url: str, tmp_path: Path) -> None:
    asyncio.run(
        execute(
            fresh_url,
            "CREATE SCHEMA clients",
            "CREATE TABLE clients.clients (id int PRIMARY KEY)",
            "CREATE TABLE clients.audit_log (id int PRIMARY KEY)",
            "INSERT INTO clients.clients VALUES (1), (2)",
            "INSERT INTO clients.audit_log VALUES (1), (2)",
        )
    )
    config = config_for(fresh_url, tmp_path)
    assert not demo_marker.still_loaded(config, fresh_url)  # no marker yet

    demo_marker.record(config, fresh_url)
    marker = json.loads((tmp_path / demo_marker.MARKER_FILE).read_text(encoding="utf-8"))
    assert marker["row_counts"] == {"clients.clients": 2}  # the audit log is purged on its own
    assert demo_marker.still_loaded(config, fresh_url)

    asyncio.run(execute(fresh_url, "INSERT INTO clients.clients VALUES (3)", "DELETE FROM clients.audit_log"))
    assert demo_marker.still_loaded(config, fresh_url)  # more rows, or fewer audit rows: still there

    # Fewer rows than after the load: something was deleted, the full load looks. (A deletion
    # matched by a new row in the same table goes unseen: counts, not ids, are compared.)
    asyncio.run(execute(fresh_url, "DELETE FROM clients.clients WHERE id IN (1, 2)"))
    assert not demo_marker.still_loaded(config, fresh_url)


def test_other_demo_code_or_another_database_loads_again(
    fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(
        execute(fresh_url, "CREATE SCHEMA clients", "CREATE TABLE clients.clients (id int PRIMARY KEY)")
    )
    asyncio.run(execute(fresh_url, "INSERT INTO clients.clients VALUES (1)"))
    config = config_for(fresh_url, tmp_path)
    demo_marker.record(config, fresh_url)
    assert demo_marker.still_loaded(config, fresh_url)

    other = config_for(fresh_url + "?application_name=other", tmp_path)
    assert not demo_marker.still_loaded(other, fresh_url + "?application_name=other")

    monkeypatch.setattr(demo_marker, "_fingerprint", lambda config, url: "other demo code")
    assert not demo_marker.still_loaded(config, fresh_url)

    demo_marker.forget(config)
    assert not (tmp_path / demo_marker.MARKER_FILE).exists()
