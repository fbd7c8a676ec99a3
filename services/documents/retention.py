"""Background retention work, run in the app (each piece once however many replicas run):

- follow the clients service's event stream: a deleted client's documents go with it;
- purge the content of documents past their purge date (deleted + grace, or the legal minimum);
- remove objects without a live row, an hour old (a process that died between write and commit).

``run_once(app, now)`` is what the loop calls; tests call it with their own clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.app import AppHook
from crmkit.auth import Principal, Role, issue_access_token
from crmkit.clock import utc_now
from crmkit.events import EVENTS_SCOPE
from crmkit.http import forwarded_headers
from crmkit.revocations import SERVICE_ACCOUNT
from services.documents import service
from services.documents.config import Settings
from services.documents.models import FeedCursor

log = logging.getLogger("documents.retention")
CLIENTS_FEED = "clients"
SYSTEM = Principal(user_id=SERVICE_ACCOUNT, role=Role.ADMIN, team_id=None)
"""The actor of purges in the audit trail."""


def tools_of(app: FastAPI) -> service.Tools:
    return service.Tools(settings=app.state.settings, cipher=app.state.cipher, storage=app.state.storage)


async def follow_client_deletions(app: FastAPI, session: AsyncSession, now: datetime) -> int:
    """Read the clients' events after our cursor; forget the documents of each deleted client."""
    settings: Settings = app.state.settings
    http: httpx.AsyncClient = app.state.peer_http
    await session.execute(
        pg_insert(FeedCursor)
        .values(source=CLIENTS_FEED, position=None, updated_at=now)
        .on_conflict_do_nothing(index_elements=["source"])
    )
    cursor = (
        await session.execute(
            select(FeedCursor).where(col(FeedCursor.source) == CLIENTS_FEED).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if cursor is None:  # another replica is on it
        return 0
    token = issue_access_token(
        settings,
        user_id=SERVICE_ACCOUNT,
        role=Role.ADMIN,
        team_id=None,
        scopes=frozenset({EVENTS_SCOPE}),
        ttl=timedelta(minutes=1),
    )
    forgotten = 0
    url = f"{settings.clients_url.rstrip('/')}/api/v1/clients/events"
    while True:
        params: dict[str, str | int] = {"limit": 500}
        if cursor.position:
            params["after"] = cursor.position
        answer = await http.get(url, params=params, headers=forwarded_headers(f"Bearer {token}"))
        answer.raise_for_status()
        page = answer.json()
        for event in page["items"]:
            if event["type"] == "client.deleted":
                forgotten += await service.forget_client(
                    session=session,
                    tools=tools_of(app),
                    principal=SYSTEM,
                    client_id=uuid.UUID(event["resource"]["id"]),
                    now=now,
                )
        cursor.position = page["next_cursor"]
        cursor.updated_at = now
        if not page["has_more"]:
            break
    await session.commit()
    return forgotten


async def run_once(app: FastAPI, now: datetime | None = None) -> tuple[int, int]:
    """(documents forgotten with their client, documents purged); orphan objects swept too."""
    now = now or utc_now()
    async with app.state.sessions() as session:
        forgotten = await follow_client_deletions(app, session, now)
    async with app.state.sessions() as session:
        purged = await service.purge_due(session=session, tools=tools_of(app), principal=SYSTEM, now=now)
    async with app.state.read_sessions() as session:
        await service.sweep_orphans(session=session, tools=tools_of(app), now=now)
    return forgotten, purged


def retention_hook(settings: Settings) -> AppHook:
    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        if settings.purge_interval_seconds <= 0:
            yield
            return

        async def loop() -> None:
            while True:
                try:
                    forgotten, purged = await run_once(app)
                    if forgotten or purged:
                        log.info("retention", extra={"forgotten": forgotten, "purged": purged})
                except Exception:  # a peer or the database briefly away: next round
                    log.warning("retention round failed", exc_info=True)
                await asyncio.sleep(settings.purge_interval_seconds)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return hook
