"""The clients schema's migrations: they build exactly what the models describe, and step back."""

from __future__ import annotations

from services.clients.models import SCHEMA, metadata
from tests.migrations_support import schema_differences, steps_down_and_up

# Alembic cannot compare an expression index (``lower(name) COLLATE "C"``): it reports it as removed
# and added again. Its definition is checked by the name-prefix search tests instead.
EXPRESSION_INDEXES = {"ix_clients_name_prefix"}


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    differences = await schema_differences(
        database_url, SCHEMA, metadata, expression_indexes=EXPRESSION_INDEXES
    )
    assert differences == []


def test_the_latest_migration_steps_down_and_up_again(server_url: str) -> None:
    steps_down_and_up(server_url, "clients", "clients_0001")
