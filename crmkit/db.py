"""Async engine, per-schema metadata and the request session (commit on success, roll back on error)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event, exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import registry
from sqlalchemy.util import await_

from crmkit.settings import CommonSettings, asyncpg_url

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_registry(schema: str) -> registry:
    """A mapper registry whose tables all live in one Postgres schema (one per service)."""
    return registry(metadata=MetaData(schema=schema, naming_convention=NAMING_CONVENTION))


def connect_args(settings: CommonSettings) -> dict[str, Any]:
    """asyncpg's connection arguments: the app's name, and behind a transaction pooler no named
    prepared statement (docs/pgbouncer.md).

    With ``statement_cache_size=0`` asyncpg prepares every statement unnamed and sends its Parse
    again with each Bind, in the one Sync the pooler keeps on one server connection, so nothing
    outlives a statement, in a transaction or in autocommit (the read sessions). SQLAlchemy's own
    cache of those statements stays on: it saves the describe round trip and holds no server state.
    """
    args: dict[str, Any] = {"server_settings": {"application_name": settings.service_name}}
    if settings.database_pooler == "pgbouncer":
        args["statement_cache_size"] = 0
    return args


def create_engine(settings: CommonSettings, **overrides: Any) -> AsyncEngine:
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        # A connection killed by the server is replaced, not handed out: see ``_ping_on_checkout``.
        "pool_pre_ping": False,
        "pool_recycle": 1800,
        # The connection returned last is lent first: under light load the same few stay warm and
        # skip the liveness check; the rest age past ``TRUSTED_FOR_SECONDS`` and are checked.
        "pool_use_lifo": True,
        "connect_args": connect_args(settings),
    }
    options.update(overrides)
    engine = create_async_engine(asyncpg_url(settings.require_database_url()), **options)
    if not options["pool_pre_ping"]:
        event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
        event.listen(engine.sync_engine, "connect", _note_checkin)  # a new connection is alive
        event.listen(engine.sync_engine, "checkin", _note_checkin)
    return engine


# How long after its last use a pooled connection is lent without a round trip to check it
# (HikariCP's ``aliveBypassWindowMs``, 500 ms there). A connection the server closed in the meantime
# is still caught: asyncpg marks it closed as soon as the event loop reads the server's goodbye.
TRUSTED_FOR_SECONDS = 1.0
_CHECKED_IN_AT = "crm_checked_in_at"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """The pool's liveness check. A connection asyncpg already knows to be closed is refused at
    once; one returned to the pool within the last ``TRUSTED_FOR_SECONDS`` is lent as it is (a busy
    service skips the round trip on almost every request); an older one is checked with one
    simple-protocol ``SELECT 1`` (nothing prepared, so as safe behind PgBouncer), not SQLAlchemy's
    asyncpg pre-ping, which wraps its ``;`` in BEGIN … ROLLBACK. A dead connection raises
    ``DisconnectionError``: the pool drops it and checks out another."""
    driver = dbapi_connection.driver_connection
    try:
        if driver.is_closed():
            raise exc.DisconnectionError("connection closed")
        returned = record.info.get(_CHECKED_IN_AT)
        if returned is not None and time.monotonic() - returned < TRUSTED_FOR_SECONDS:
            return
        await_(driver.execute("SELECT 1"))
    except exc.DisconnectionError:
        raise
    except Exception as error:
        raise exc.DisconnectionError(f"connection check failed: {type(error).__name__}") from error


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool in autocommit, for safe methods: a read costs no BEGIN/COMMIT round trips.

    At READ COMMITTED every statement sees its own snapshot either way, so reads lose nothing.
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe methods, in autocommit (``read_engine``)."""
    return session_factory(read_engine(engine))


def read_connection(request: Request) -> ReadConnection:
    """A pooled connection of the primary in autocommit, without a session: for a read that only
    shows rows (``async with read_connection(request) as connection``), no unit of work around it."""
    engine: AsyncEngine = request.app.state.read_engine
    return ReadConnection(engine.connect())


class ReadConnection:
    """``async with`` an autocommit connection (``read_connection``), closed in the caller's task.

    An autocommit connection goes back to the pool without a round trip (no transaction to roll
    back, the isolation level reset in memory), so its close has no await a cancellation could
    interrupt; SQLAlchemy's own exit runs the close in a task of its own, shielded, which cost a
    task per read (3 % of GET by id's CPU). After an error, when an invalidated connection may be
    closed over the network, SQLAlchemy's shielded exit runs as before.
    """

    __slots__ = ("_connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> AsyncConnection:
        return await self._connection.start()

    async def __aexit__(
        self, type_: type[BaseException] | None, value: BaseException | None, traceback: Any
    ) -> None:
        if type_ is None:
            await self._connection.close()
        else:
            await self._connection.__aexit__(type_, value, traceback)


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: services only flush; this commits, or rolls back on error.

    When the idempotency middleware already opened a session for this request, it owns the
    transaction (it stores the response in the same commit), so this only lends it out. Safe
    methods (GET, HEAD) read in autocommit mode: nothing to commit, two round trips saved.
    """
    owned = getattr(request.state, "db_session", None)
    if owned is not None:
        yield owned
        return
    state = request.app.state
    read_only = request.method in READ_ONLY_METHODS
    sessions: async_sessionmaker[AsyncSession] = state.read_sessions if read_only else state.sessions
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a CHECK constraint that keeps ``column`` to ``values`` (a status, a category)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
