"""Async engine, per-schema metadata and the request session (commit on success, roll back on error)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
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
        "connect_args": connect_args(settings),
    }
    options.update(overrides)
    engine = create_async_engine(asyncpg_url(settings.require_database_url()), **options)
    if not options["pool_pre_ping"]:
        event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
    return engine


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's liveness check in one round trip: SQLAlchemy's own pre-ping for asyncpg wraps
    its ``;`` in BEGIN … ROLLBACK (three round trips on every checkout, a fifth of a GET's CPU).
    A simple-protocol statement prepares nothing, so it is as safe behind PgBouncer. A dead
    connection raises ``DisconnectionError``: the pool drops it and checks out another."""
    driver = dbapi_connection.driver_connection
    try:
        if driver.is_closed():
            raise exc.DisconnectionError("connection closed")
        await_(driver.execute("SELECT 1"))
    except exc.DisconnectionError:
        raise
    except Exception as error:
        raise exc.DisconnectionError(f"connection check failed: {type(error).__name__}") from error


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe methods: autocommit, so a read costs no BEGIN/COMMIT round trips.

    At READ COMMITTED every statement sees its own snapshot either way, so reads lose nothing.
    """
    return session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


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
