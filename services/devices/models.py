"""Tables of the devices service, all in the `devices` schema."""

from sqlmodel import SQLModel

from crmkit.db import schema_registry
from crmkit.infra_tables import define_infra_tables

SCHEMA = "devices"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)


class DevicesTable(SQLModel, registry=registry):
    """Base of every table model of this service."""
