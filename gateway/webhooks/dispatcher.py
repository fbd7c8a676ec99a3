"""The dispatcher: pull each service's events, queue a delivery per matching subscription, deliver.

One pass (``run_once``) does both halves; the gateway's lifespan runs passes every
``webhook_dispatch_interval_seconds``. Replicas cooperate through the database:

- pulling one service's stream is serialised by a transaction-level advisory lock (a replica
  that finds it taken skips that service this pass), and a delivery row is unique per
  (subscription, event), so an event is queued once. A process that has read a stream to its end
  first asks for what came after (one GET, no transaction) and takes the lock only when something did;
- due deliveries are *claimed* with ``FOR UPDATE SKIP LOCKED`` and leased (``next_attempt_at``
  moved past the send timeout) in a short transaction; the HTTP calls happen outside any
  transaction, and the outcome is written afterwards. Two replicas never claim the same
  delivery; one that dies mid-send leaves a lease that expires and is retried (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.auth import Role, issue_access_token
from crmkit.events import EVENTS_SCOPE
from crmkit.peer_auth import peer_headers
from crmkit.problems import ProblemError
from crmkit.references import APPLY_SCOPE
from gateway.config import Settings
from gateway.forwarding import CutShort, Upstreams
from gateway.webhooks.models import EventFeedCursor, WebhookDelivery, WebhookSubscription
from gateway.webhooks.service import secret_of
from gateway.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from gateway.webhooks.targets import check_target

log = logging.getLogger("gateway.webhooks")

RETRY_AFTER_SECONDS = (60, 120, 300, 900, 2400)
"""Waits after each failed attempt: 6 attempts over about 63 minutes, then ``failed``."""
JITTER = 0.1
"""Each wait is stretched or shrunk by up to 10 %, so retries of one outage do not arrive in step."""
EVENTS_PAGE = 200
MAX_PAGES_PER_PASS = 10
CLAIM_BATCH = 50
DISPATCHER_USER = uuid.UUID(int=0)
"""The ``sub`` of the dispatcher's own short-lived token (admin role, ``events:read`` scope only)."""
USER_AGENT = "crm-webhooks/1"
TOKEN_SECONDS = 300


@dataclass(frozen=True)
class MergeNotices:
    """A merge event of one service, and the services holding references to what was merged."""

    kind: str
    merged_key: str
    holders: tuple[str, ...]


MERGE_EVENTS = {
    "client.merged": MergeNotices(
        kind="client", merged_key="merged_client_id", holders=("policies", "claims")
    )
}
"""Read before the cursor moves past them: each holder moves its references (crmkit.references)."""


def matches(patterns: list[str], event_type: str) -> bool:
    """``*``, ``client.*`` or the exact type."""
    resource = event_type.split(".", 1)[0]
    return any(p in ("*", event_type, f"{resource}.*") for p in patterns)


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the ``attempts``-th failed attempt, or None when retries are exhausted."""
    if attempts > len(RETRY_AFTER_SECONDS):
        return None
    base = RETRY_AFTER_SECONDS[attempts - 1]
    return timedelta(seconds=base * (1 + (rng or random).uniform(-JITTER, JITTER)))


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class PassReport:
    queued: int = 0
    attempted: int = 0
    delivered: int = 0
    failed_services: list[str] = field(default_factory=list)


@dataclass
class _Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None


class Dispatcher:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        upstream: httpx.AsyncClient,
        upstreams: dict[str, str],
        delivery: httpx.AsyncClient,
        feeds: Upstreams | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.upstream = upstream
        self.upstreams = upstreams
        self.delivery = delivery
        self.feeds = feeds
        """The proxy's forwarder: the check for an idle feed goes over it (none given: no check)."""
        self.clock = clock
        self._own_token: tuple[str, float] | None = None
        self._caught_up: dict[str, str | None] = {}
        """Per service, the cursor this process last read or stored with the lock held."""

    async def run_once(self, *, now: datetime | None = None) -> PassReport:
        """One pass: pull every service's new events, then send what is due at ``now``."""
        report = PassReport()
        for service, base in self.upstreams.items():
            try:
                report.queued += await self.pull(service, base)
            except (httpx.HTTPError, ProblemError, ValueError, KeyError) as exc:
                log.warning("event pull failed", extra={"service": service, "error": type(exc).__name__})
                report.failed_services.append(service)
        attempted, delivered = await self.deliver_due(now=now)
        report.attempted, report.delivered = attempted, delivered
        return report

    def _token(self) -> str:
        """The dispatcher's own token, reused until a minute before it expires: one signature per
        few minutes, not one per feed and pass (and the services verify a token they have seen)."""
        now = time.monotonic()
        if self._own_token is None or self._own_token[1] <= now:
            token = issue_access_token(
                self.settings,
                user_id=DISPATCHER_USER,
                role=Role.ADMIN,
                team_id=None,
                scopes=frozenset({EVENTS_SCOPE, APPLY_SCOPE}),
                ttl=timedelta(seconds=TOKEN_SECONDS),
            )
            self._own_token = (token, now + TOKEN_SECONDS - 60)
        return self._own_token[0]

    async def pull(self, service: str, base: str) -> int:
        """Queue deliveries for one service's new events; returns how many were queued.

        When this process has already caught up with the service's feed, one GET after that cursor
        first: an empty page (nearly every pass) means nothing to do, with no transaction, no lock
        and no cursor read. Anything else (events, a moved cursor, an error) takes the locked path,
        which reads the stored cursor: a cursor another replica moved on is found there."""
        headers = {"Authorization": f"Bearer {self._token()}", **peer_headers()}
        if service in self._caught_up and await self._nothing_after(
            service, base, self._caught_up[service], headers
        ):
            return 0
        return await self._pull_locked(service, base, headers)

    async def _nothing_after(
        self, service: str, base: str, cursor: str | None, headers: dict[str, str]
    ) -> bool:
        """Whether the service's feed holds no event after ``cursor`` (False when unsure)."""
        if self.feeds is None:
            return False
        target = f"/api/v1/{service}/events?limit={EVENTS_PAGE}" + (
            f"&after={quote(cursor, safe='')}" if cursor else ""
        )
        fields = [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]
        try:
            answer = await self.feeds.send(service, base, "GET", target, fields, b"")
        except ProblemError:  # the gateway's 502/503/504 for a service it cannot read
            return False
        try:
            if answer.status != 200:
                return False
            body = answer.body if answer.body is not None else b"".join([c async for c in answer.chunks()])
        except CutShort:
            return False
        finally:
            await answer.close()
        try:
            page = json.loads(body)
        except ValueError:
            return False
        return isinstance(page, dict) and page.get("items") == [] and page.get("next_cursor") == cursor

    async def _pull_locked(self, service: str, base: str, headers: dict[str, str]) -> int:
        queued = 0
        for _ in range(MAX_PAGES_PER_PASS):
            async with self.sessions() as session:
                locked = await session.scalar(
                    select(func.pg_try_advisory_xact_lock(func.hashtext(f"crm.webhooks.pull.{service}")))
                )
                if not locked:
                    return queued  # another replica is pulling this service right now
                cursor = await session.scalar(
                    select(col(EventFeedCursor.cursor)).where(col(EventFeedCursor.service) == service)
                )
                params: dict[str, str | int] = {"limit": EVENTS_PAGE}
                if cursor:
                    params["after"] = cursor
                response = await self.upstream.get(
                    f"{base}/api/v1/{service}/events", params=params, headers=headers
                )
                response.raise_for_status()
                page = response.json()
                await self._notify_merges(page["items"], headers)
                queued += await self._queue(session, page["items"])
                if page["items"] or page["next_cursor"] != cursor:  # an idle pull writes nothing
                    await session.execute(
                        insert(EventFeedCursor)
                        .values(service=service, cursor=page["next_cursor"], updated_at=func.now())
                        .on_conflict_do_update(
                            index_elements=["service"],
                            set_={"cursor": page["next_cursor"], "updated_at": func.now()},
                        )
                    )
                await session.commit()
            self._caught_up[service] = page["next_cursor"]
            if not page["has_more"]:
                break
        return queued

    async def _notify_merges(self, events: list[dict[str, Any]], headers: dict[str, str]) -> None:
        """Tell the services holding references about each merge, before the cursor passes it.

        A holder that is down (or answers 5xx) stops the pass for this stream: the cursor stays,
        and the next pass sends the notice again (holders apply it idempotently). A notice refused
        with a 4xx would be refused forever, so it is logged and passed over."""
        for event in events:
            notices = MERGE_EVENTS.get(event["type"])
            if notices is None:
                continue
            data = event["resource"].get("data") or {}
            body = {"survivor_id": str(event["resource"]["id"]), "merged_id": data[notices.merged_key]}
            for holder in notices.holders:
                base = self.upstreams.get(holder)
                if base is None:
                    continue
                response = await self.upstream.post(
                    f"{base}/api/v1/{holder}/{notices.kind}-merges", json=body, headers=headers
                )
                if response.status_code >= 500:
                    response.raise_for_status()
                if response.status_code >= 400:
                    log.warning(
                        "merge notice refused",
                        extra={"service": holder, "event": event["id"], "status": response.status_code},
                    )

    async def _queue(self, session: AsyncSession, events: list[dict[str, Any]]) -> int:
        if not events:
            return 0
        active = (
            await session.execute(
                select(WebhookSubscription).where(col(WebhookSubscription.is_active).is_(True))
            )
        ).scalars()
        subscriptions = list(active)
        now = self.clock()
        rows = [
            {
                "id": uuid.uuid4(),
                "subscription_id": s.id,
                "event_id": event["id"],
                "event_type": event["type"],
                "payload": event,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event in events
            for s in subscriptions
            if matches(s.event_types, event["type"])
        ]
        if not rows:
            return 0
        result = await session.execute(
            insert(WebhookDelivery)
            .values(rows)
            .on_conflict_do_nothing(constraint="uq_webhook_deliveries_subscription_event")
            .returning(col(WebhookDelivery.id))
        )
        return len(result.all())

    async def deliver_due(self, *, now: datetime | None = None) -> tuple[int, int]:
        """Claim what is due, send it, record the outcome; returns (attempted, delivered)."""
        moment = now or self.clock()
        claimed = await self._claim(moment)
        if not claimed:
            return 0, 0
        outcomes = await asyncio.gather(*(self._send(d, s, moment) for d, s in claimed))
        delivered = 0
        async with self.sessions() as session:
            for (delivery, _), outcome in zip(claimed, outcomes, strict=True):
                delivered += await self._record(session, delivery, outcome, moment)
            await session.commit()
        return len(claimed), delivered

    async def _claim(self, moment: datetime) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
        lease = moment + timedelta(seconds=self.settings.webhook_delivery_timeout_seconds + 60)
        async with self.sessions() as session:
            due = (
                select(col(WebhookDelivery.id))
                .where(
                    col(WebhookDelivery.status) == "pending",
                    col(WebhookDelivery.next_attempt_at) <= moment,
                    # A paused subscription's deliveries wait for it, rather than spend their retries.
                    col(WebhookDelivery.subscription_id).in_(
                        select(col(WebhookSubscription.id)).where(
                            col(WebhookSubscription.is_active).is_(True)
                        )
                    ),
                )
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(CLAIM_BATCH)
                .with_for_update(skip_locked=True)
            )
            ids = list((await session.execute(due)).scalars())
            if not ids:
                return []
            await session.execute(
                update(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)).values(next_attempt_at=lease)
            )
            rows = (
                await session.execute(
                    select(WebhookDelivery, WebhookSubscription)
                    .join(
                        WebhookSubscription,
                        col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                    )
                    .where(col(WebhookDelivery.id).in_(ids))
                )
            ).all()
            await session.commit()
        return [(d, s) for d, s in rows]

    async def _send(
        self, delivery: WebhookDelivery, subscription: WebhookSubscription, moment: datetime
    ) -> _Outcome:
        started = time.perf_counter()
        try:
            if not subscription.is_active:
                return _Outcome(None, 0, "subscription is inactive")
            await check_target(
                subscription.url,
                environment=self.settings.environment,
                allow_private=self.settings.webhook_allow_private_targets,
            )
            body = body_of(delivery.payload)
            timestamp = int(moment.timestamp())
            response = await self.delivery.post(
                subscription.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    EVENT_ID_HEADER: delivery.event_id,
                    EVENT_TYPE_HEADER: delivery.event_type,
                    TIMESTAMP_HEADER: str(timestamp),
                    SIGNATURE_HEADER: sign(secret_of(self.settings, subscription), timestamp, body),
                },
            )
        except ProblemError as refused:
            return _Outcome(None, 0, f"target refused: {refused.detail}"[:500])
        except httpx.HTTPError as exc:
            return _Outcome(None, _ms(started), f"{type(exc).__name__}: {exc}"[:500])
        latency = _ms(started)
        if 200 <= response.status_code < 300:
            return _Outcome(response.status_code, latency, None)
        return _Outcome(response.status_code, latency, f"answered {response.status_code}")

    async def _record(
        self, session: AsyncSession, delivery: WebhookDelivery, outcome: _Outcome, moment: datetime
    ) -> int:
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": moment,
            "response_status": outcome.status_code,
            "latency_ms": outcome.latency_ms,
            "last_error": outcome.error,
        }
        if outcome.error is None:
            values.update(status="delivered", delivered_at=moment, next_attempt_at=None)
        else:
            delay = retry_delay(attempts)
            if delay is None:
                values.update(status="failed", next_attempt_at=None)
            else:
                values.update(status="pending", next_attempt_at=moment + delay)
        await session.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id).values(**values)
        )
        return 1 if outcome.error is None else 0


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def dispatcher_hook(settings: Settings) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Lifespan hook: the dispatcher on ``app.state.webhook_dispatcher``, and its loop unless turned off.

    Runs after the edge hook (it borrows the upstream client). Deliveries go out through their own
    client: real network, no redirects followed (a redirect could lead inside), no proxy settings
    taken from the environment.
    """

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=settings.webhook_delivery_timeout_seconds, follow_redirects=False, trust_env=False
        ) as delivery:
            dispatcher = Dispatcher(
                settings=settings,
                sessions=app.state.sessions,
                upstream=app.state.upstream_client,
                upstreams=settings.upstream_urls(),
                delivery=delivery,
                feeds=app.state.upstreams,
            )
            app.state.webhook_dispatcher = dispatcher
            loop = None
            if settings.webhook_dispatch_interval_seconds > 0:
                loop = asyncio.create_task(
                    _dispatch_forever(dispatcher, settings.webhook_dispatch_interval_seconds)
                )
            try:
                yield
            finally:
                if loop is not None:
                    loop.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await loop

    return hook


async def _dispatch_forever(dispatcher: Dispatcher, interval: float) -> None:
    while True:
        try:
            await dispatcher.run_once()
        except Exception:  # the database may be briefly away; try again next round
            log.warning("webhook dispatch pass failed", exc_info=True)
        await asyncio.sleep(interval)


__all__ = ["Dispatcher", "PassReport", "dispatcher_hook", "matches", "retry_delay"]
