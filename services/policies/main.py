"""The policies service: one FastAPI app, one process, the `policies` schema."""

from pathlib import Path

from fastapi import FastAPI

from crmkit.app import create_service_app
from services.policies.config import Settings, get_settings
from services.policies.models import infra_tables, metadata

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        metadata=metadata,
        infra_tables=infra_tables,
        migrations_dir=MIGRATIONS,
        routers=[],
        title="Policies service",
        description="Insurance agent CRM: the policies service.",
    )


app = create_app()
