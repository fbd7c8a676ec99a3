"""``crmkit.driver_sql``: a Core statement compiled once and run as the driver's SQL gives the rows
SQLAlchemy's own execution gives, takes its values by name, and refuses what it cannot run as is."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Select, bindparam, func, literal, literal_column, select, values
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Date, DateTime, Integer, LargeBinary, String, Uuid

from crmkit.db import create_engine, read_engine
from crmkit.driver_sql import driver_sql
from crmkit.settings import CommonSettings

ROWS = values(
    literal_column("n", Integer),
    literal_column("name", String),
    literal_column("day", Date),
    literal_column("moment", DateTime(timezone=True)),
    literal_column("id", Uuid),
    name="sample",
).data(
    [
        (1, "张伟", date(1986, 3, 12), datetime(2026, 11, 2, 9, 15, tzinfo=UTC), uuid.UUID(int=1)),
        (2, "Jane", date(1990, 3, 7), datetime(2026, 11, 3, 9, 15, 0, 120000, tzinfo=UTC), uuid.UUID(int=2)),
        (3, "zhao", None, datetime(2026, 11, 4, tzinfo=UTC), uuid.UUID(int=3)),
    ]
)


def _statement() -> Select[Any]:
    """Named placeholders, one used twice, and a value bound in the statement (the ``LIMIT``)."""
    return (
        select(ROWS.c.n, ROWS.c.name, ROWS.c.day, ROWS.c.moment, ROWS.c.id, literal("tag").label("tag"))
        .where(ROWS.c.n >= bindparam("least", type_=Integer), ROWS.c.name != bindparam("skip", type_=String))
        .where(func.coalesce(ROWS.c.day, bindparam("least_day", type_=Date)) >= bindparam("least_day"))
        .order_by(ROWS.c.n)
        .limit(2)
    )


@pytest.fixture
async def engine(server_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(CommonSettings(environment="test", database_url=server_url), pool_size=1)
    try:
        yield read_engine(engine)
    finally:
        await engine.dispose()


async def test_the_driver_sql_gives_the_rows_sqlalchemy_gives(engine: AsyncEngine) -> None:
    statement = _statement()
    parameters = {"skip": "Jane", "least": 1, "least_day": date(1900, 1, 1)}
    compiled = driver_sql(statement, engine.dialect)
    # ``least_day`` twice in the SQL, once among the driver's values; the rest are the statement's own.
    given = [name for name in compiled.names if name not in compiled.values]
    assert sorted(given) == ["least", "least_day", "skip"]
    async with engine.connect() as connection:
        expected = (await connection.execute(statement, parameters)).all()
        got = (await compiled.execute(connection, parameters)).all()
    assert [tuple(row) for row in got] == [tuple(row) for row in expected]
    assert [row.name for row in got] == ["张伟", "zhao"]
    assert got[1].moment == datetime(2026, 11, 4, tzinfo=UTC)
    assert str(got[0].id) == str(uuid.UUID(int=1))


async def test_a_placeholder_left_out_is_refused_before_the_database(engine: AsyncEngine) -> None:
    compiled = driver_sql(_statement(), engine.dialect)
    with pytest.raises(KeyError, match="skip"):
        compiled.arguments({"least": 1, "least_day": date(1900, 1, 1)})


async def test_database_errors_are_sqlalchemys_as_for_any_statement(engine: AsyncEngine) -> None:
    compiled = driver_sql(select(literal_column("no_such_column")), engine.dialect)
    async with engine.connect() as connection:
        with pytest.raises(ProgrammingError):
            await compiled.execute(connection, {})


def test_a_statement_expanded_at_execution_is_refused(engine: AsyncEngine) -> None:
    expanding = select(ROWS.c.n).where(ROWS.c.n.in_(bindparam("ns", expanding=True)))
    with pytest.raises(ValueError, match="execution time"):
        driver_sql(expanding, engine.dialect)


async def test_values_go_in_as_sqlalchemy_sends_them(engine: AsyncEngine) -> None:
    """``bytea``: asyncpg's dialect passes a value through the driver's ``Binary`` on the way in."""
    statement = select(func.length(bindparam("digest", type_=LargeBinary)).label("n"))
    async with engine.connect() as connection:
        await connection.execute(select(1))  # the dialect learns its driver on the first connection
        compiled = driver_sql(statement, connection.dialect)
        assert set(compiled.processors) == {"digest"}
        got = (await compiled.execute(connection, {"digest": b"\x00\x01\x02"})).scalar_one()
    assert got == 3
