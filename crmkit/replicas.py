"""Heavy reads on a streaming replica, with read-your-writes by the caller's write LSN.

A service given ``CRM_DATABASE_REPLICA_URL`` (or ``<SERVICE>_DATABASE_REPLICA_URL``) answers the
endpoints marked with ``ReplicaSessionDep`` / ``ReplicaSessionsDep`` (lists, search, reports,
exports, the changes feed, the agenda lists) from the replica; everything else stays on the primary.

Read-your-writes (docs/replicas.md): after a caller's write commits, the service reads the primary's
``pg_current_wal_lsn()`` (at or past the write's commit record) and

- remembers it for that principal in this process, and
- answers it as ``X-CRM-Read-After: <service>:<lsn>:<signature>``; a client (or another process of
  the service, behind a balancer) that sends the header back gets the same guarantee anywhere. The
  signature binds the LSN to the principal and the service, so a caller cannot slow others down or
  pin itself to the primary with a forged value.

Before a heavy read for a principal with such an LSN, the replica must have replayed it
(``pg_last_wal_replay_lsn() >= lsn``); it is polled for at most ``replica_max_wait_seconds``, then
the read goes to the primary. A replica that cannot be reached (refused, timed out) is skipped for
``RETRY_AFTER_SECONDS`` and reads go to the primary; ``/readyz`` reports it ``degraded`` without
taking the app out of rotation. Migrations never use the replica URL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkit.auth import Principal, PrincipalDep
from crmkit.db import READ_ONLY_METHODS, create_engine, get_session, read_connection, read_session_factory
from crmkit.settings import CommonSettings

log = logging.getLogger("crmkit.replicas")

READ_AFTER_HEADER = "x-crm-read-after"
CONNECT_TIMEOUT_SECONDS = 2.0
"""A replica that does not accept a connection within this is taken as down."""
RETRY_AFTER_SECONDS = 5.0
"""After a failure the replica is left alone this long (reads go to the primary), then tried again."""
POLL_SECONDS = 0.005
MAX_REMEMBERED = 10_000
"""Principals whose last write LSN a process keeps; the oldest are forgotten first."""
_UNREACHABLE = (OSError, TimeoutError, asyncio.TimeoutError, OperationalError, InterfaceError, DBAPIError)


def parse_lsn(text_lsn: str) -> int:
    """``16/B374D848`` → a comparable integer; ValueError for anything else."""
    high, low = text_lsn.split("/")
    if not (1 <= len(high) <= 8 and 1 <= len(low) <= 8):
        raise ValueError(text_lsn)
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class ReadRouting:
    """One app's replica: its engine, the principals' write LSNs, and where reads went."""

    def __init__(self, settings: CommonSettings, registry: CollectorRegistry) -> None:
        assert settings.database_replica_url
        self.settings = settings
        self.service = settings.service_name
        self.engine: AsyncEngine | None = None
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self.fences: OrderedDict[str, int] = OrderedDict()
        self.resting_until = 0.0
        self.last_error: str | None = None
        self._key = hashlib.sha256(f"read-after:{settings.jwt_secret}".encode()).digest()
        self.reads = Counter(
            "db_heavy_reads_total",
            "Heavy reads (lists, search, reports, exports, feeds) by the server that answered them:"
            " target=replica, or target=primary with the reason (behind: the caller's last write was"
            " not replayed in time; unavailable: the replica could not be reached).",
            ["service", "target", "reason"],
            registry=registry,
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def open(self) -> None:
        url = self.settings.database_replica_url
        assert url
        # The primary's engine options (pool, pre-ping, application name, any pooler settings),
        # pointed at the replica.
        engine = create_engine(self.settings.model_copy(update={"database_url": url}))

        @event.listens_for(engine.sync_engine, "do_connect")
        def _connect_timeout(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
            cparams.setdefault("timeout", CONNECT_TIMEOUT_SECONDS)

        self.engine = engine
        self.sessions = read_session_factory(engine)
        self.resting_until = 0.0

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        self.engine = self.sessions = None

    # --- read-your-writes -----------------------------------------------------------------------

    def _signature(self, actor: str, lsn: int) -> str:
        digest = hmac.new(self._key, f"{self.service}:{actor}:{lsn}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()

    def token(self, actor: str, lsn: int) -> str:
        return f"{self.service}:{format_lsn(lsn)}:{self._signature(actor, lsn)}"

    def remember(self, actor: str, lsn: int) -> None:
        if lsn > self.fences.get(actor, -1):
            self.fences[actor] = lsn
        self.fences.move_to_end(actor)
        while len(self.fences) > MAX_REMEMBERED:
            self.fences.popitem(last=False)

    def fence(self, principal: Principal, header: str | None) -> int | None:
        """The LSN this principal's reads must see: remembered here, or carried by the header."""
        actor = principal.actor
        fence = self.fences.get(actor)
        for token in (header or "").split(","):
            service, _, rest = token.strip().partition(":")
            lsn_text, _, signature = rest.partition(":")
            if service != self.service:
                continue
            try:
                lsn = parse_lsn(lsn_text)
            except ValueError:
                continue
            if hmac.compare_digest(signature, self._signature(actor, lsn)) and lsn > (fence or -1):
                fence = lsn
        return fence

    async def fence_after_write(self, primary: AsyncEngine, actor: str) -> str | None:
        """After a committed write: the primary's WAL position, remembered and as a header value."""
        try:
            async with primary.connect() as conn:
                lsn_text = await conn.scalar(text("SELECT pg_current_wal_lsn()::text"))
        except _UNREACHABLE:
            log.warning("could not read the primary's WAL position after a write", exc_info=True)
            return None
        lsn = parse_lsn(str(lsn_text))
        self.remember(actor, lsn)
        return self.token(actor, lsn)

    # --- routing --------------------------------------------------------------------------------

    def _mark_down(self, exc: BaseException) -> None:
        if self.last_error is None:
            log.warning(
                "read replica unavailable; reading from the primary",
                extra={"error": type(exc).__name__},
                exc_info=exc,
            )
        self.last_error = type(exc).__name__
        self.resting_until = time.monotonic() + RETRY_AFTER_SECONDS

    def _mark_up(self) -> None:
        if self.last_error is not None:
            log.info("read replica back; heavy reads return to it")
        self.last_error = None
        self.resting_until = 0.0

    async def _caught_up(self, session: AsyncSession, fence: int) -> bool:
        deadline = time.monotonic() + self.settings.replica_max_wait_seconds
        query = text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn)")
        while True:
            # NULL: not a standby (promoted, or misconfigured); the primary is the safe answer.
            if await session.scalar(query, {"lsn": format_lsn(fence)}):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)

    async def replica_session(self, principal: Principal, header: str | None) -> AsyncSession | None:
        """A session on the replica, connected and caught up with the caller; None: use the primary."""
        if self.sessions is None or time.monotonic() < self.resting_until:
            self.reads.labels(self.service, "primary", "unavailable").inc()
            return None
        session = self.sessions()
        try:
            await session.connection()  # checkout: the pool's pre-ping finds a replica gone away
            fence = self.fence(principal, header)
            if fence is not None and not await self._caught_up(session, fence):
                await session.close()
                self.reads.labels(self.service, "primary", "behind").inc()
                return None
        except _UNREACHABLE as exc:
            await session.close()
            self._mark_down(exc)
            self.reads.labels(self.service, "primary", "unavailable").inc()
            return None
        self._mark_up()
        session.info["replica"] = True
        self.reads.labels(self.service, "replica", "").inc()
        return session

    # --- readiness ------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """Reported by /readyz, never required: without the replica, reads go to the primary."""
        started = time.perf_counter()
        if self.engine is None:
            return {"status": "degraded", "required": False, "error": "not started"}
        try:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT pg_is_in_recovery() AS standby,"
                            " extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS since_replay"
                        )
                    )
                ).one()
        except _UNREACHABLE as exc:
            self._mark_down(exc)
            return {"status": "degraded", "required": False, "error": type(exc).__name__}
        self._mark_up()
        latency = round((time.perf_counter() - started) * 1000, 2)
        since_replay = None if row.since_replay is None else round(float(row.since_replay), 3)
        return {
            "status": "ok" if row.standby else "degraded",
            "required": False,
            "standby": bool(row.standby),
            # Time since the last replayed commit: lag while the primary is busy, idle time otherwise.
            "seconds_since_last_replay": since_replay,
            "latency_ms": latency,
        }


def routing_of(request: Request) -> ReadRouting | None:
    return getattr(request.app.state, "read_routing", None)


def on_replica(session: AsyncSession) -> bool:
    return bool(session.info.get("replica"))


def count_fallback(request: Request, reason: str) -> None:
    """A read that began on the replica and had to be answered by the primary after all."""
    routing = routing_of(request)
    if routing is not None:
        routing.reads.labels(routing.service, "primary", reason).inc()


async def get_replica_session(request: Request, principal: PrincipalDep) -> AsyncIterator[AsyncSession]:
    """A heavy read's session: the replica when there is one, up and caught up with the caller;
    otherwise exactly what ``get_session`` gives (the primary, autocommit for safe methods)."""
    routing = routing_of(request)
    session = None
    if routing is not None and request.method in READ_ONLY_METHODS:
        session = await routing.replica_session(principal, request.headers.get(READ_AFTER_HEADER))
    if session is None:
        primary = cast(AsyncGenerator[AsyncSession], get_session(request))
        lent = await anext(primary)
        try:
            yield lent
        except BaseException as exc:
            with contextlib.suppress(StopAsyncIteration):
                await primary.athrow(exc)  # rolls back and raises ``exc`` again
            raise
        else:
            with contextlib.suppress(StopAsyncIteration):
                await anext(primary)  # commits (nothing to commit for a safe method)
        return
    async with session:
        yield session


@contextlib.asynccontextmanager
async def replica_connection(request: Request, principal: Principal) -> AsyncIterator[AsyncConnection]:
    """``get_replica_session``'s choice of server as a bare connection, for a heavy read that only
    shows rows (``async with replica_connection(request, principal) as connection``): the replica
    when it is up and caught up with the caller, else a pooled autocommit connection of the primary
    (``read_connection``) without a session around it. The session's unit of work (its creation,
    its events, the commit of nothing) was a sixth of a list page's CPU."""
    routing = routing_of(request)
    if routing is not None and request.method in READ_ONLY_METHODS:
        session = await routing.replica_session(principal, request.headers.get(READ_AFTER_HEADER))
        if session is not None:
            async with session:
                yield await session.connection()
            return
    async with read_connection(request) as connection:
        yield connection


async def get_replica_sessions(request: Request, principal: PrincipalDep) -> async_sessionmaker[AsyncSession]:
    """For a streamed read (an export) that opens its own sessions: the replica's, or the primary's."""
    routing = routing_of(request)
    if routing is not None and routing.sessions is not None:
        probe = await routing.replica_session(principal, request.headers.get(READ_AFTER_HEADER))
        if probe is not None:
            await probe.close()
            return routing.sessions
    sessions: async_sessionmaker[AsyncSession] = request.app.state.read_sessions
    return sessions


ReplicaSessionDep = Annotated[AsyncSession, Depends(get_replica_session, scope="function")]
"""Marks a heavy read: the endpoint may answer from the replica (see the module docstring)."""
ReplicaSessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_replica_sessions)]


class WriteFenceMiddleware:
    """After a successful write by a principal: remember its WAL position and answer it as
    ``X-CRM-Read-After``. Installed only where a replica is configured; the commit has happened by
    the time the response starts (the session dependency and the idempotency layer commit first)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_ONLY_METHODS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        routing: ReadRouting | None = getattr(state, "read_routing", None)

        async def send_with_fence(message: Message) -> None:
            if message["type"] == "http.response.start" and routing is not None and message["status"] < 400:
                principal = scope.get("state", {}).get("principal")
                if principal is not None:
                    token = await routing.fence_after_write(state.engine, principal.actor)
                    if token is not None:
                        headers = [*message.get("headers", []), (READ_AFTER_HEADER.encode(), token.encode())]
                        message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_fence)


@contextlib.asynccontextmanager
async def replica_lifespan(routing: ReadRouting) -> AsyncIterator[None]:
    routing.open()
    try:
        yield
    finally:
        await routing.close()
