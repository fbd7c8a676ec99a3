"""What every service's migration tests share: the migrated schema compared with the models, and a
revision stepped down and up again on a scratch database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from crmkit.migrations import alembic_config, upgrade_to_head
from crmkit.settings import asyncpg_url
from launcher.apps import SERVICES
from tests.conftest import _with_database


async def schema_differences(
    database_url: str, schema: str, metadata: MetaData, *, expression_indexes: Iterable[str] = ()
) -> list[str]:
    """What Alembic finds between the migrated ``schema`` and ``metadata`` (empty when they agree).
    Alembic cannot compare an expression index; name those in ``expression_indexes``."""
    skipped = set(expression_indexes)

    def compare(connection: Connection) -> list[str]:
        connection.execute(text(f'SET search_path TO "{schema}"'))
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    type_ != "table" or getattr(obj, "schema", None) == schema
                ),
                "include_name": lambda name, type_, parent: type_ != "schema" or name == schema,
                "compare_type": True,
                "version_table_schema": schema,
            },
        )
        return [
            str(d)
            for d in compare_metadata(context, metadata)
            if not (d[0] in ("add_index", "remove_index") and d[1].name in skipped)
        ]

    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def steps_down_and_up(server_url: str, service: str, down_to: str) -> None:
    """On a database of its own: ``service`` migrated to head, down to ``down_to``, and up again."""
    app = next(spec for spec in SERVICES if spec.name == service)
    name = f"crm_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        url = _with_database(server_url, name)
        upgrade_to_head(app.migrations_dir, url)
        command.downgrade(alembic_config(app.migrations_dir, url), down_to)
        upgrade_to_head(app.migrations_dir, url)
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
