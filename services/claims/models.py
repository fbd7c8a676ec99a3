"""Tables of the claims service, all in the `claims` schema."""

from sqlmodel import SQLModel

from crmkit.db import schema_registry
from crmkit.infra_tables import define_infra_tables

SCHEMA = "claims"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)


class ClaimsTable(SQLModel, registry=registry):
    """Base of every table model of this service."""
