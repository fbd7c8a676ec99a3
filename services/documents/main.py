"""The documents service: one FastAPI app, one process, the `documents` schema, and an object
store (local files or S3) for the sealed content."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI

from crmkit.app import AppHook, create_service_app
from services.documents.changes import routers as feed_routers
from services.documents.config import Settings, get_settings
from services.documents.models import infra_tables, metadata
from services.documents.peers import peer_hooks
from services.documents.retention import retention_hook
from services.documents.router import BASE, router
from services.documents.storage import LocalStorage

MIGRATIONS = Path(__file__).parent / "migrations"


def storage_hook(settings: Settings) -> AppHook:
    """``app.state.storage``: the configured backend, open for the app's life."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        if settings.storage_backend == "local":
            app.state.storage = LocalStorage(settings.data_dir / "objects")
            yield
            return
        from services.documents.s3 import s3_storage  # aiobotocore: ~13 MB of RSS, this backend only

        key = settings.s3_access_key_id
        secret = settings.s3_secret_access_key
        async with s3_storage(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
            access_key_id=key.get_secret_value() if key else None,
            secret_access_key=secret.get_secret_value() if secret else None,
            create_bucket=settings.s3_create_bucket,
        ) as storage:
            app.state.storage = storage
            yield

    return hook


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
        title="Documents service",
        hooks=[storage_hook(settings), *peer_hooks(settings, transport=transport), retention_hook(settings)],
        description=(
            "Insurance agent CRM: the files behind claims, underwriting, contracts, complaints and"
            " identity (procedure 三.10), encrypted at rest, verified on read, scoped like their record."
        ),
        file_upload_paths=(BASE,),
    )


app = create_app()
