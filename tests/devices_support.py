"""Shared helpers for the devices tests (no tests here): bodies, creation, checks, DB probes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import Person, Stack

DEVICES = "/api/v1/devices"
PROBLEM_JSON = "application/problem+json"
CATEGORIES = (
    "noise_vibration",
    "display",
    "input_output",
    "system_software",
    "network",
    "power_supply",
    "temperature",
    "maintenance",
)
TABLES = ("devices", "device_checks", "check_findings", "repairs", "audit_log")

_tags = iter(range(1, 1_000_000))


def device_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_type": "computer",
        "asset_tag": f"PD-PC-{next(_tags):04d}",
        "model": "ThinkPad T14",
        "location": "浦东办公室",
        "maintenance_interval_days": 90,
    }
    body.update(overrides)
    return body


async def create_device(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    response = await api.post(DEVICES, json=device_body(**overrides), headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def findings(
    abnormal: dict[str, str | None] | None = None, *, skip: str | None = None
) -> list[dict[str, Any]]:
    """A result for every category: good, except those named (with their note)."""
    abnormal = abnormal or {}
    return [
        {"category": c, "result": "abnormal" if c in abnormal else "good", "note": abnormal.get(c)}
        for c in CATEGORIES
        if c != skip
    ]


async def record_check(
    api: httpx.AsyncClient, person: Person, device_id: str, abnormal: dict[str, str | None] | None = None
) -> dict[str, Any]:
    response = await api.post(
        f"{DEVICES}/{device_id}/checks", json={"findings": findings(abnormal)}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    recorded: dict[str, Any] = response.json()
    return recorded


async def get_device(api: httpx.AsyncClient, person: Person, device_id: str) -> dict[str, Any]:
    response = await api.get(f"{DEVICES}/{device_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    device: dict[str, Any] = response.json()
    return device


async def get_repair(api: httpx.AsyncClient, person: Person, repair_id: str) -> dict[str, Any]:
    response = await api.get(f"{DEVICES}/repairs/{repair_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    repair: dict[str, Any] = response.json()
    return repair


def if_match(person: Person, version: int) -> dict[str, str]:
    return {**person.headers, "If-Match": f'W/"{version}"'}


async def counts(stack: Stack) -> dict[str, int]:
    """Rows in every table of the service: compare before and after a refused request."""
    found: dict[str, int] = {}
    for table in TABLES:
        rows = await stack.fetch(f"SELECT count(*) AS n FROM devices.{table}")  # noqa: S608
        found[table] = int(rows[0]["n"])
    return found


async def stored_device(stack: Stack, device_id: str) -> dict[str, Any]:
    [row] = await stack.fetch("SELECT * FROM devices.devices WHERE id = $1", uuid.UUID(device_id))
    return dict(row)


async def stored_repair(stack: Stack, repair_id: str) -> dict[str, Any]:
    [row] = await stack.fetch("SELECT * FROM devices.repairs WHERE id = $1", uuid.UUID(repair_id))
    return dict(row)


async def audit_actions(stack: Stack, resource_id: str) -> list[str]:
    rows = await stack.fetch(
        "SELECT action FROM devices.audit_log WHERE resource_id = $1 ORDER BY id", uuid.UUID(resource_id)
    )
    return [r["action"] for r in rows]


def assert_problem(response: httpx.Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with the status, and (for validation) an error naming the field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if field is not None:
        fields = [e["field"] for e in problem.get("errors") or []]
        assert field in fields, problem
    return problem
