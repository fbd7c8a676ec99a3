"""The policies service: one FastAPI app, one process, the `policies` schema."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import create_service_app
from crmkit.peers import peer_client_hook
from crmkit.references import merges_router
from services.policies.applications.router import router as applications_router
from services.policies.changes import routers as feed_routers
from services.policies.config import Settings, get_settings
from services.policies.dependencies import clock_of
from services.policies.issued.router import router as policies_router
from services.policies.models import Application, Policy, Proposal, infra_tables, metadata
from services.policies.products.router import router as products_router
from services.policies.proposals.router import router as proposals_router
from services.policies.router import (
    agenda_router,
    exports_router,
    flags_router,
    reports_router,
    review_router,
    sweep_router,
    worklists_router,
)
from services.policies.sweep import sweep_hook

MIGRATIONS = Path(__file__).parent / "migrations"
# A merge of two clients in the clients service moves the references held here (crmkit.references).
CLIENT_REFERENCES = {
    "proposal": Proposal.__table__.c.client_id,  # type: ignore[attr-defined]
    "application": Application.__table__.c.client_id,  # type: ignore[attr-defined]
    "policy": Policy.__table__.c.client_id,  # type: ignore[attr-defined]
}


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings=settings,
        metadata=metadata,
        infra_tables=infra_tables,
        migrations_dir=MIGRATIONS,
        # Literal paths first; policy item routes also use the uuid convertor.
        routers=[
            merges_router(
                service="policies",
                kind="client",
                references=CLIENT_REFERENCES,
                audit_log=infra_tables.audit_log,
            ),
            *feed_routers,
            exports_router,
            products_router,
            proposals_router,
            applications_router,
            worklists_router,
            agenda_router,
            flags_router,
            reports_router,
            review_router,
            sweep_router,
            policies_router,
        ],
        title="Policies service",
        description="Insurance agent CRM: product catalogue, proposals, applications, policies and reviews.",
        hooks=[
            peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport),
            sweep_hook(settings.sweep_interval_seconds, clock_of),
        ],
    )


app = create_app()
