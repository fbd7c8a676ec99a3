"""The tasks service: one FastAPI app, one process, the `tasks` schema."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import create_service_app
from services.tasks.changes import routers as feed_routers
from services.tasks.config import Settings, get_settings
from services.tasks.models import infra_tables, metadata
from services.tasks.peers import peer_hooks
from services.tasks.router import router
from services.tasks.stream import broker_hook
from services.tasks.worker import worker_hook

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
        title="Tasks service",
        hooks=[*peer_hooks(settings, transport=transport), broker_hook(settings), worker_hook(settings)],
        description=(
            "Insurance agent CRM: the agent's working loop (procedure §二.8 daily plan, §三.8 follow-up;"
            " manual §五.2 weekly claim updates, §五.3 greetings): tasks, action plans started by events,"
            " notifications in-app (feed and Server-Sent Events), by e-mail, SMS and WeChat through an"
            " outbox, festival and milestone greetings."
        ),
    )


app = create_app()
