# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Shared helpers for the claims tests (no tests here): policies to claim on, claims, DB probes."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests import policies_support
from tests.conftest import People, Person, Stack

CLAIMS = "/api/v1/claims"
PROBLEM_JSON = "application/problem+json"
ZONE = ZoneInfo("Asia/Shanghai")
BANK_ACCOUNT = "6222021234567890123"

CRITICAL_ILLNESS_DOCUMENTS = [
    "claim_form",
    "diagnosis_certificate",
    "medical_records",
    "pathology_report",
    "id_copy",
    "bank_account",
]


def today() -> date:
    """Today in the business time zone, as the service computes it."""
    return datetime.now(ZONE).date()


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


def if_match(person: Person, version: int) -> dict[str, str]:
    return {**person.headers, "If-Match": f'W/"{version}"'}


async def issue_policy(
    api: httpx.AsyncClient, people: People, person: Person, *, effective_on: date | None = None
) -> dict[str, Any]:
    """An in-force policy of a new client of ``person``, effective 100 days ago unless told otherwise."""
    client = await policies_support.create_client(api, person)
    return await policies_support.issue_policy(
        api, person, client["id"], effective_on=effective_on or days_ago(100), admin=people.admin
    )


def claim_body(policy_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "policy_id": policy_id,
        "claim_type": "critical_illness",
        "incident_date": days_ago(10).isoformat(),
        "claimed_amount": "500000.00",
        "claimant": {
            "name": "张伟",
            "relationship": "self",
            "bank_name": "工商银行",
            "bank_account": BANK_ACCOUNT,
        },
        "description": "确诊甲状腺癌，已住院手术",
    }
    body.update(overrides)
    return body


async def report_claim(
    api: httpx.AsyncClient, person: Person, policy_id: str, **overrides: Any
) -> dict[str, Any]:
    response = await api.post(CLAIMS, json=claim_body(policy_id, **overrides), headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


DECISIONS = ("approved", "rejected")


async def move(
    api: httpx.AsyncClient, person: Person, claim: dict[str, Any], status: str, **fields: Any
) -> httpx.Response:
    """Move a claim; an insurer's decision gets a reference and today's date unless given (pass
    ``insurer_reference=None`` to send none)."""
    if status in DECISIONS:
        fields.setdefault("insurer_reference", f"LP-{uuid.uuid4().hex[:10].upper()}")
        fields.setdefault("decided_on", datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat())
    return await api.post(
        f"{CLAIMS}/{claim['id']}/transitions",
        json={"status": status, **fields},
        headers=if_match(person, claim["version"]),
    )


async def moved(
    api: httpx.AsyncClient, person: Person, claim: dict[str, Any], status: str, **fields: Any
) -> dict[str, Any]:
    response = await move(api, person, claim, status, **fields)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def receive_all(api: httpx.AsyncClient, person: Person, claim: dict[str, Any]) -> dict[str, Any]:
    """Mark every outstanding checklist item received; returns the claim as it then stands."""
    for document in claim["documents"]:
        if document["status"] in ("missing", "rejected"):
            response = await api.patch(
                f"{CLAIMS}/{claim['id']}/documents/{document['id']}",
                json={"status": "received"},
                headers=if_match(person, claim["version"]),
            )
            assert response.status_code == 200, response.text
            claim = response.json()
    return claim


async def submitted_claim(api: httpx.AsyncClient, person: Person, policy_id: str) -> dict[str, Any]:
    claim = await report_claim(api, person, policy_id)
    claim = await moved(api, person, claim, "collecting_documents")
    claim = await receive_all(api, person, claim)
    return await moved(api, person, claim, "submitted")


def assert_problem(response: httpx.Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with the status, and (for validation) an error naming the field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if field is not None:
        fields = [e["field"] for e in problem.get("errors") or []]
        assert any(f == field or f.startswith(field + ".") for f in fields), problem
    return problem


def assert_illegal_transition(
    response: httpx.Response, *, current: str, requested: str, allowed: list[str]
) -> dict[str, Any]:
    """The one 409 body of an illegal state move (crmkit.workflow): exactly the three uniform fields."""
    problem = assert_problem(response, 409)
    assert problem["type"].endswith("/illegal-transition")
    assert (problem["current_state"], problem["requested_state"], problem["allowed_next_states"]) == (
        current,
        requested,
        allowed,
    )
    old_spellings = {"current_status", "allowed", "allowed_next", "allowed_next_statuses"}
    assert not old_spellings & problem.keys(), problem
    return problem


async def count(stack: Stack, table: str) -> int:
    rows = await stack.fetch(f"SELECT count(*) AS n FROM claims.{table}")  # noqa: S608 - our own table names
    return int(rows[0]["n"])


async def counts(stack: Stack) -> dict[str, int]:
    """Rows in every table of the claims schema: compare before/after to prove nothing was stored."""
    return {
        name: await count(stack, name) for name in ("claims", "claim_documents", "claim_events", "audit_log")
    }


async def stored(stack: Stack, claim_id: str) -> dict[str, Any]:
    rows = await stack.fetch("SELECT * FROM claims.claims WHERE id = $1", uuid.UUID(claim_id))
    return dict(rows[0])


async def audit_rows(stack: Stack, claim_id: str) -> list[dict[str, Any]]:
    rows = await stack.fetch(
        "SELECT actor, action, before, after FROM claims.audit_log WHERE resource_id = $1 ORDER BY id",
        uuid.UUID(claim_id),
    )
    return [
        {
            "actor": r["actor"],
            "action": r["action"],
            "before": json.loads(r["before"]) if r["before"] is not None else None,
            "after": json.loads(r["after"]) if r["after"] is not None else None,
        }
        for r in rows
    ]


async def age_last_update(stack: Stack, claim_id: str, moment: datetime) -> None:
    """Time passing: the claim's last client update happened at ``moment``."""
    await stack.fetch(
        "UPDATE claims.claims SET last_client_update_at = $2 WHERE id = $1", uuid.UUID(claim_id), moment
    )
