"""A Core statement compiled once into the driver's SQL, for a hot read to run as it is.

``connection.execute(statement)`` looks its compiled form up in SQLAlchemy's cache on every call,
under a cache key made by walking the whole statement and hashed again each time: for a large
statement (the client list's page, which writes its JSON in SQL) that walk and hash cost more than
the rest of the execution. Compiled here once, the statement runs through
``connection.exec_driver_sql``: the same connection, transaction, error handling and invalidation
as any other statement, with no compiling and no cache key. The rows come back as the driver gives
them (asyncpg's own types: no SQLAlchemy result processing), so only statements whose columns need
none belong here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ClauseElement, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class DriverSql:
    """A statement's SQL for one dialect, and how to order its parameters for the driver."""

    sql: str
    names: tuple[str, ...]
    """The placeholders' names in the order the driver takes their values (``$1``, ``$2``, ...)."""
    values: Mapping[str, Any]
    """The values bound in the statement itself (a ``LIMIT``, a literal), by placeholder name; a
    placeholder without one must be given (a ``KeyError`` otherwise, as SQLAlchemy would refuse)."""
    processors: Mapping[str, Callable[[Any], Any]]
    """What SQLAlchemy makes of a value of the placeholder's type on the way in (asyncpg's
    ``bytea``: the driver's ``Binary``), by placeholder name; most types have none."""

    def arguments(self, parameters: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's positional values: ``parameters`` first, else the statement's own."""
        values = [parameters[name] if name in parameters else self.values[name] for name in self.names]
        if self.processors:
            for index, name in enumerate(self.names):
                process = self.processors.get(name)
                if process is not None and values[index] is not None:
                    values[index] = process(values[index])
        return tuple(values)

    async def execute(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> CursorResult[Any]:
        return await connection.exec_driver_sql(self.sql, self.arguments(parameters))


def driver_sql(statement: ClauseElement, dialect: Dialect) -> DriverSql:
    """``statement`` compiled for ``dialect``, the engine's own (its driver decides how some types
    go in), in a positional paramstyle (asyncpg's ``$n``). Refuses a statement whose placeholders
    SQLAlchemy expands into the SQL at execution time (``IN`` lists, ``literal_execute``)."""
    compiled: Any = statement.compile(dialect=dialect)
    if compiled.positiontup is None:
        raise ValueError(f"{dialect.name}'s paramstyle {dialect.paramstyle} is not positional")
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("the statement's parameters are expanded into its SQL at execution time")
    names = tuple(compiled.positiontup)
    binds = {name: compiled.binds[name] for name in names}
    values = {name: bind.value for name, bind in binds.items() if not bind.required}
    processors = {
        name: process
        for name, bind in binds.items()
        if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    }
    return DriverSql(sql=compiled.string, names=names, values=values, processors=processors)
