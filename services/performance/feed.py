"""Reading the clients and policies services' event feeds into the counters (``counters.py``).

Like the gateway's webhook dispatcher (docs/events-and-sync.md): per service, under a
transaction-level advisory lock (a replica skips a service another is reading), read
``/api/v1/<service>/events`` after the stored cursor with a short-lived token of its own (admin
role, ``events:read`` scope only), count the page and store the new cursor in the same
transaction. A crash between pages loses nothing and counts nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.app import AppHook
from crmkit.auth import Role, ServiceToken, issue_access_token
from crmkit.events import EVENTS_SCOPE
from crmkit.http import forwarded_headers
from services.performance import counters
from services.performance.config import Settings
from services.performance.models import FeedCursor

log = logging.getLogger("performance.feed")

FEED_READER = uuid.UUID("00000000-0000-0000-0000-0000000000f7")
"""The service account the performance service reads event feeds as (never a person)."""
EVENTS_PAGE = 500
MAX_PAGES_PER_PASS = 200


@dataclass
class FeedPass:
    read: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


class EventFeed:
    def __init__(
        self, *, settings: Settings, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.http = http
        # One token reused across passes: each service keeps every token it verified until it expires.
        self._token = ServiceToken(self._sign, timedelta(minutes=5))

    def _sign(self, ttl: timedelta) -> str:
        return issue_access_token(
            self.settings,
            user_id=FEED_READER,
            role=Role.ADMIN,
            team_id=None,
            scopes=frozenset({EVENTS_SCOPE}),
            ttl=ttl,
        )

    async def run_once(self) -> FeedPass:
        """Read every service's new events into the counters."""
        report = FeedPass()
        for service, base in self.settings.feed_urls().items():
            try:
                report.read[service] = await self.pull(service, base)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning("event feed read failed", extra={"service": service, "error": type(exc).__name__})
                report.failed.append(service)
        return report

    async def pull(self, service: str, base: str) -> int:
        read = 0
        headers = forwarded_headers(f"Bearer {self._token()}")
        for _ in range(MAX_PAGES_PER_PASS):
            async with self.sessions() as session:
                locked = await session.scalar(
                    select(func.pg_try_advisory_xact_lock(func.hashtext(f"crm.performance.feed.{service}")))
                )
                if not locked:
                    return read
                cursor = await session.get(FeedCursor, service)
                params: dict[str, str | int] = {"limit": EVENTS_PAGE}
                if cursor is not None and cursor.cursor:
                    params["after"] = cursor.cursor
                response = await self.http.get(
                    f"{base}/api/v1/{service}/events", params=params, headers=headers
                )
                response.raise_for_status()
                page = response.json()
                counted = await counters.count(session, page["items"], self.settings.zone)
                read += len(page["items"])
                table = FeedCursor.__table__  # type: ignore[attr-defined]
                stmt = insert(table).values(
                    service=service, cursor=page["next_cursor"], events_counted=counted, updated_at=func.now()
                )
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["service"],
                        set_={
                            "cursor": stmt.excluded.cursor,
                            "events_counted": table.c.events_counted + counted,
                            "updated_at": func.now(),
                        },
                    )
                )
                await session.commit()
            if not page["has_more"]:
                break
        return read


def feed_hook(settings: Settings) -> AppHook:
    """Lifespan hook (after the peer client's): the feed at ``app.state.event_feed``, and its loop
    unless ``feed_interval_seconds`` is 0 (tests call ``run_once()`` themselves)."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        feed = EventFeed(settings=settings, sessions=app.state.sessions, http=app.state.peer_http)
        app.state.event_feed = feed
        loop = None
        if settings.feed_interval_seconds > 0:
            loop = asyncio.create_task(_read_forever(feed, settings.feed_interval_seconds))
        try:
            yield
        finally:
            if loop is not None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop

    return hook


async def _read_forever(feed: EventFeed, interval: float) -> None:
    while True:
        try:
            await feed.run_once()
        except Exception:  # the database may be briefly away; try again next round
            log.warning("event feed pass failed", exc_info=True)
        await asyncio.sleep(interval)
