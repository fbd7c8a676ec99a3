"""The performance service: one FastAPI app, one process, the `performance` schema."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import create_service_app
from services.performance.changes import routers as feed_routers
from services.performance.config import Settings, get_settings
from services.performance.feed import feed_hook
from services.performance.models import infra_tables, metadata
from services.performance.peers import peer_hooks
from services.performance.router import router

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
        title="Performance service",
        hooks=[*peer_hooks(settings, transport=transport), feed_hook(settings)],
        description=(
            "Insurance agent CRM: stepped goals (manual 七.3), scorecards counted from the services'"
            " events, and the per-agent rows and progress notes of the business report (procedure 三.11)."
        ),
    )


app = create_app()
