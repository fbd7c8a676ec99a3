"""Deprecating an operation (crmkit/deprecation.py), as docs/api.md promises integrators."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from crmkit.deprecation import deprecated, deprecation_headers

SINCE = datetime(2027, 1, 1, tzinfo=UTC)
SUNSET = datetime(2027, 7, 1, tzinfo=UTC)


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/old", **deprecated(SINCE, sunset=SUNSET, notes="/changelog#old"))
    async def old() -> dict[str, str]:
        return {"still": "answers"}

    @router.get("/current")
    async def current() -> dict[str, str]:
        return {"fine": "yes"}

    app = FastAPI()
    app.include_router(router)
    return app


async def test_a_deprecated_operation_says_so_in_its_answers_and_in_the_document() -> None:
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        old = await client.get("/old")
        current = await client.get("/current")

    assert old.status_code == 200
    assert old.json() == {"still": "answers"}
    assert old.headers["deprecation"] == "@1798761600"
    assert old.headers["sunset"] == "Thu, 01 Jul 2027 00:00:00 GMT"
    assert old.headers["link"] == '</changelog#old>; rel="deprecation"'
    assert "deprecation" not in current.headers
    document = app.openapi()
    assert document["paths"]["/old"]["get"]["deprecated"] is True
    assert "deprecated" not in document["paths"]["/current"]["get"]


def test_without_a_sunset_only_the_deprecation_is_announced() -> None:
    assert deprecation_headers(SINCE) == {"Deprecation": "@1798761600"}


def test_naive_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deprecation_headers(datetime(2027, 1, 1))
