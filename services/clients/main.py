"""The clients service: one FastAPI app, one process, the `clients` schema."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import create_service_app
from crmkit.peers import peer_client_hook
from services.clients.changes import routers as feed_routers
from services.clients.client_events.router import router as client_events_router
from services.clients.complaints.router import router as complaints_router
from services.clients.compliance.router import router as compliance_router
from services.clients.config import Settings, get_settings
from services.clients.consent.router import router as consent_router
from services.clients.duplicates.router import router as duplicates_router
from services.clients.exports.router import router as exports_router
from services.clients.greetings.router import router as greetings_router
from services.clients.household.router import router as household_router
from services.clients.imports.jobs import imports_hook
from services.clients.imports.router import router as imports_router
from services.clients.interactions.router import router as interactions_router
from services.clients.milestones.router import router as milestones_router
from services.clients.models import infra_tables, metadata
from services.clients.needs.router import router as needs_router
from services.clients.router import agenda_router, reports_router, router
from services.clients.tiering.router import router as tiering_router

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
        # The client record's own routes first: the list, the create and ``GET /clients/{id}`` are the
        # hottest, and FastAPI matches in order (the rest were walked first: a tenth of a GET's CPU).
        # ``{client_id:uuid}`` cannot take a fixed path (``/clients/follow-ups``), so order is free.
        routers=[
            router,
            *feed_routers,
            client_events_router,
            duplicates_router,
            imports_router,
            exports_router,
            agenda_router,
            interactions_router,
            milestones_router,
            reports_router,
            complaints_router,
            compliance_router,
            tiering_router,
            household_router,
            needs_router,
            consent_router,
            greetings_router,
        ],
        title="Clients service",
        description=(
            "Insurance agent CRM: the client file (客户档案) — households, tiering, needs analysis and "
            "coverage gaps, interactions and follow-ups, milestones, complaints and consent — scoped "
            "to the caller."
        ),
        hooks=[
            imports_hook,
            peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport),
        ],
    )


app = create_app()
