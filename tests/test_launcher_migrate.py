"""The launcher's migrations on a warm start: schemas already at head are left alone (their heads
remembered under a fingerprint of the migration files), and one behind is still brought to head."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic import command

from crmkit.migrations import alembic_config
from crmkit.revisions import head_revision
from launcher import config as launcher_config
from launcher.apps import ALL_APPS
from launcher.database import HEADS_FILE, migrate
from launcher.throwaway import drop_database, recreate_database


@pytest.fixture
def fresh_url(server_url: str) -> Iterator[str]:
    url = recreate_database(server_url, "crm_test_launcher_migrate")
    try:
        yield url
    finally:
        drop_database(server_url, "crm_test_launcher_migrate")


async def recorded(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        return {
            spec.name: await conn.fetchval(f'SELECT version_num FROM "{spec.schema}".alembic_version')  # noqa: S608
            for spec in ALL_APPS
        }
    finally:
        await conn.close()


def test_a_second_run_finds_every_head_and_a_schema_behind_is_upgraded(
    fresh_url: str, tmp_path: Path
) -> None:
    config = launcher_config.load({"CRM_DATABASE_URL": fresh_url, "CRM_DATA_DIR": str(tmp_path)})
    heads = {spec.name: head_revision(spec.migrations_dir) for spec in ALL_APPS}

    assert migrate(config, fresh_url) == [spec.name for spec in ALL_APPS]
    assert asyncio.run(recorded(fresh_url)) == heads
    cached = json.loads((tmp_path / HEADS_FILE).read_text())
    assert {name: entry["heads"] for name, entry in cached.items()} == {k: [v] for k, v in heads.items()}

    devices = next(spec for spec in ALL_APPS if spec.name == "devices")
    command.downgrade(alembic_config(devices.migrations_dir, fresh_url), "-1")
    assert asyncio.run(recorded(fresh_url))["devices"] != heads["devices"]

    migrate(config, fresh_url)
    assert asyncio.run(recorded(fresh_url)) == heads
