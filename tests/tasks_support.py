"""Helpers of the tasks service's tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Person, Stack

TASKS = "/api/v1/tasks"
ZONE = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(ZONE).date()


def in_hours(hours: float) -> str:
    return (datetime.now(ZONE) + timedelta(hours=hours)).isoformat()


async def create_task(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "回访张伟", "due_on": today().isoformat()}
    body.update(overrides)
    response = await api.post(TASKS, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def count(stack: Stack, table: str) -> int:
    rows = await stack.fetch(f"SELECT count(*) AS n FROM tasks.{table}")  # noqa: S608 - our own table names
    return int(rows[0]["n"])


async def give_consent(api: httpx.AsyncClient, person: Person, client_id: str, purpose: str) -> None:
    response = await api.post(
        f"/api/v1/clients/{client_id}/consents",
        json={"purpose": purpose, "text_version": "2025-01"},
        headers=person.headers,
    )
    assert response.status_code == 201, response.text
