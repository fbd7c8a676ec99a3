"""Shared helpers for the clients tests (no tests here): valid identities, creation, DB probes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from stdnum.cn import ric

from tests.conftest import Person, Stack

CLIENTS = "/api/v1/clients"
PROBLEM_JSON = "application/problem+json"


def resident_id(birth: str = "19900307", *, region: str = "110101", sequence: str = "123") -> str:
    """A resident ID number with a correct check digit."""
    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")


def wrong_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("1" if last != "1" else "2")


CONSENT = {"purpose": "personal_data", "text_version": "2025-01"}


def client_body(**overrides: Any) -> dict[str, Any]:
    """A valid new client; identifiers come with the client's consent unless ``consent`` is given."""
    body: dict[str, Any] = {"name": "Wang Fang", "channel": "warm_market"}
    body.update(overrides)
    if ("resident_id" in body or "id_document_number" in body or "phone" in body) and "consent" not in body:
        body["consent"] = CONSENT
    return body


async def create_client(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    response = await api.post(CLIENTS, json=client_body(**overrides), headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def if_match(person: Person, version: int) -> dict[str, str]:
    return {**person.headers, "If-Match": f'W/"{version}"'}


async def count_clients(stack: Stack, *, live_only: bool = False) -> int:
    where = " WHERE deleted_at IS NULL" if live_only else ""
    rows = await stack.fetch(f"SELECT count(*) AS n FROM clients.clients{where}")  # noqa: S608
    return int(rows[0]["n"])


async def count_audit(stack: Stack) -> int:
    rows = await stack.fetch("SELECT count(*) AS n FROM clients.audit_log")
    return int(rows[0]["n"])


async def audit_rows(stack: Stack, client_id: str | uuid.UUID) -> list[dict[str, Any]]:
    rows = await stack.fetch(
        "SELECT actor, action, before, after, request_id FROM clients.audit_log"
        " WHERE resource_id = $1 ORDER BY id",
        uuid.UUID(str(client_id)),
    )
    return [
        {
            "actor": r["actor"],
            "action": r["action"],
            "before": json.loads(r["before"]) if r["before"] is not None else None,
            "after": json.loads(r["after"]) if r["after"] is not None else None,
            "request_id": r["request_id"],
        }
        for r in rows
    ]


async def stored_version(stack: Stack, client_id: str) -> int:
    rows = await stack.fetch("SELECT version FROM clients.clients WHERE id = $1", uuid.UUID(client_id))
    return int(rows[0]["version"])


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


async def count_rows(stack: Stack, table: str) -> int:
    """Rows in one table of the clients schema (to prove nothing was stored)."""
    rows = await stack.fetch(f"SELECT count(*) AS n FROM clients.{table}")  # noqa: S608 - our own table names
    return int(rows[0]["n"])


async def audit_actions(stack: Stack) -> list[str]:
    rows = await stack.fetch("SELECT action FROM clients.audit_log ORDER BY id")
    return [str(r["action"]) for r in rows]


def etag_of(version: int) -> str:
    return f'W/"{version}"'
