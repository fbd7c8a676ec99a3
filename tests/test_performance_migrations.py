"""The performance schema's migrations: they build exactly what the models describe, and step back."""

from __future__ import annotations

from services.performance.models import SCHEMA, metadata
from tests.migrations_support import schema_differences, steps_down_and_up


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    assert await schema_differences(database_url, SCHEMA, metadata) == []


def test_the_latest_migration_steps_down_and_up_again(server_url: str) -> None:
    steps_down_and_up(server_url, "performance", "base")
