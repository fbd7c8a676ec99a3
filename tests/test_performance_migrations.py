"""The performance schema's migrations: they build exactly what the models describe, and step back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from crmkit.migrations import alembic_config, upgrade_to_head
from crmkit.settings import asyncpg_url
from launcher.apps import SERVICES
from services.performance.models import SCHEMA, metadata
from tests.conftest import _with_database

PERFORMANCE_APP = next(spec for spec in SERVICES if spec.name == "performance")
EXPRESSION_INDEXES: set[str] = set()


def _differences(connection: Connection) -> list[Any]:
    connection.execute(text(f'SET search_path TO "{SCHEMA}"'))
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_object": lambda obj, name, type_, reflected, compare_to: (
                type_ != "table" or getattr(obj, "schema", None) == SCHEMA
            ),
            "include_name": lambda name, type_, parent: type_ != "schema" or name == SCHEMA,
            "compare_type": True,
            "version_table_schema": SCHEMA,
        },
    )
    return [
        d
        for d in compare_metadata(context, metadata)
        if not (d[0] in ("add_index", "remove_index") and d[1].name in EXPRESSION_INDEXES)
    ]


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert [str(d) for d in differences] == []


def test_the_latest_migration_steps_down_and_up_again(server_url: str) -> None:
    name = f"crm_migrate_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = _with_database(server_url, name)
        upgrade_to_head(PERFORMANCE_APP.migrations_dir, url)
        command.downgrade(alembic_config(PERFORMANCE_APP.migrations_dir, url), "base")
        upgrade_to_head(PERFORMANCE_APP.migrations_dir, url)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
