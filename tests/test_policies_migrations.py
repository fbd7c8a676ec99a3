"""The policies and claims migrations of issue 16 (evidence, return visits, annual reviews): the
migrated policies schema is what the models describe, and the new revisions step down and up."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from crmkit.migrations import alembic_config, upgrade_to_head
from crmkit.settings import asyncpg_url
from launcher.apps import SERVICES
from services.claims import models as claims_models
from services.policies import models as policies_models
from tests.conftest import _with_database


def _differences(connection: Connection, schema: str, metadata: MetaData) -> list[Any]:
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
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize(
    ("schema", "metadata"),
    [("policies", policies_models.metadata), ("claims", claims_models.metadata)],
)
async def test_the_migrated_schema_matches_the_models(
    database_url: str, schema: str, metadata: MetaData
) -> None:
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences, schema, metadata)
    finally:
        await engine.dispose()
    assert [str(d) for d in differences] == []


@pytest.mark.parametrize(("service", "before"), [("policies", "policies_0003"), ("claims", "claims_0003")])
def test_the_new_revision_steps_down_and_up_again(server_url: str, service: str, before: str) -> None:
    app = next(spec for spec in SERVICES if spec.name == service)
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
        upgrade_to_head(app.migrations_dir, url)
        command.downgrade(alembic_config(app.migrations_dir, url), before)
        upgrade_to_head(app.migrations_dir, url)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
