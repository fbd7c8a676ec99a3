"""Alembic per schema: ``env.py`` pins the search path and version table to the app's schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from crmkit.settings import asyncpg_url


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


def downgrade_to_base(migrations_dir: Path, database_url: str) -> None:
    command.downgrade(alembic_config(migrations_dir, database_url), "base")


def run_migrations(metadata: MetaData) -> None:
    """The whole of an app's ``env.py``: online, async, confined to ``metadata.schema``."""
    schema = metadata.schema
    assert schema, "each app's metadata must name its schema"
    url = context.config.attributes.get("database_url")
    if not url:
        raise RuntimeError("no database URL given to the migration run")

    def include_object(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        return type_ != "table" or getattr(obj, "schema", None) == schema

    def do_run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        # The whole run is one transaction (begun here, committed below): LOCAL keeps the search
        # path from outliving it on a server connection a pooler would hand to someone else.
        connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())
