"""The devices service: one FastAPI app, one process, the `devices` schema."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import create_service_app
from services.devices.changes import routers as feed_routers
from services.devices.config import Settings, get_settings
from services.devices.models import infra_tables, metadata
from services.devices.peers import peer_hooks
from services.devices.router import router

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings=settings,
        metadata=metadata,
        infra_tables=infra_tables,
        migrations_dir=MIGRATIONS,
        routers=[*feed_routers, router],
        title="Devices service",
        hooks=peer_hooks(settings, transport=transport),
        description=(
            "Insurance agent CRM: office equipment, status checks in the compliance procedure's"
            " categories (§二.2, §四), repairs and abnormality statistics."
        ),
    )


app = create_app()
