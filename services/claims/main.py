"""The claims service: one FastAPI app, one process, the `claims` schema."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import create_service_app
from crmkit.peers import peer_client_hook
from crmkit.references import merges_router
from services.claims.changes import routers as feed_routers
from services.claims.config import Settings, get_settings
from services.claims.models import Claim, infra_tables, metadata
from services.claims.router import routers

MIGRATIONS = Path(__file__).parent / "migrations"
# A merge of two clients in the clients service moves the references held here (crmkit.references).
CLIENT_REFERENCES = {"claim": Claim.__table__.c.client_id}  # type: ignore[attr-defined]


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings=settings,
        metadata=metadata,
        infra_tables=infra_tables,
        migrations_dir=MIGRATIONS,
        routers=[
            merges_router(
                service="claims",
                kind="client",
                references=CLIENT_REFERENCES,
                audit_log=infra_tables.audit_log,
            ),
            *feed_routers,
            *routers,
        ],
        title="Claims service",
        description=(
            "Insurance agent CRM: claims (理赔) against policies, document checklists, status nodes,"
            " weekly client feedback and the insurer's decision deadlines, scoped to the caller."
        ),
        hooks=[
            peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport),
        ],
    )


app = create_app()
