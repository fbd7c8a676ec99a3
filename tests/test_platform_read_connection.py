"""``crmkit.db.read_connection``: an autocommit connection of the pool, back in the pool after the
read, whether it ended cleanly (closed in the request's task) or with an error (SQLAlchemy's exit)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from crmkit.db import create_engine, read_connection, read_engine
from crmkit.settings import CommonSettings


def _request(engine: Any) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(read_engine=read_engine(engine))))


async def test_the_connection_goes_back_to_the_pool_after_a_read_and_after_an_error(server_url: str) -> None:
    engine = create_engine(
        CommonSettings(environment="test", database_url=server_url), pool_size=1, max_overflow=0
    )
    request = _request(engine)
    try:
        async with read_connection(request) as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        with pytest.raises(ProgrammingError):
            async with read_connection(request) as connection:
                await connection.execute(text("SELECT no_such_column"))
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        with pytest.raises(LookupError):
            async with read_connection(request) as connection:
                raise LookupError("an error of the caller's own")
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        # pool_size=1: the one connection was returned each time, and still serves
        async with read_connection(request) as connection:
            assert (await connection.execute(text("SELECT 2"))).scalar_one() == 2
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
