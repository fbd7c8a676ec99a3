# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Shared helpers for the policies tests (and the claims tests): products, applications, policies.

``issue_policy`` is a stable entry point for other services' tests: it walks one application
through the gateway from draft to an issued (by default in-force) policy and returns the policy.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Person, Stack

BASE = "/api/v1/policies"
PRODUCTS = f"{BASE}/products"
PROPOSALS = f"{BASE}/proposals"
APPLICATIONS = f"{BASE}/applications"
WORKLISTS = f"{BASE}/worklists"
CLIENTS = "/api/v1/clients"
PROBLEM_JSON = "application/problem+json"
ZONE = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in the business time zone, as the service computes it."""
    return datetime.now(ZONE).date()


def if_match(person: Person, version: int) -> dict[str, str]:
    return {**person.headers, "If-Match": f'W/"{version}"'}


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "insurer": "平安人寿",
        "name": f"平安福重疾 {uuid.uuid4().hex[:8]}",
        "category": "critical_illness",
        "kind": "protection",
        "min_insured_age": 0,
        "max_insured_age": 60,
        "payment_years": [1, 10, 20, 30],
        "cooling_off_days": 15,
        "walls": ["critical_illness"],
    }
    body.update(overrides)
    return body


async def create_product(api: httpx.AsyncClient, admin: Person, **overrides: Any) -> dict[str, Any]:
    response = await api.post(PRODUCTS, json=product_body(**overrides), headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_client(
    api: httpx.AsyncClient, person: Person, *, birth_date: str | None = "1985-06-12", **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "张伟", "channel": "warm_market", **overrides}
    if birth_date is not None:
        body["birth_date"] = birth_date
    response = await api.post(CLIENTS, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def application_body(client_id: str, product_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": client_id,
        "product_id": product_id,
        "sum_insured": "500000.00",
        "annual_premium": "8000.00",
        "payment_years": 20,
        "beneficiaries": {"designation": "legal_heirs"},
        "health_disclosure": [
            {"question": "过去两年内是否住院或手术？", "answer": False},
            {"question": "是否患有高血压、糖尿病等慢性病？", "answer": False},
        ],
        "occupation_code": "0001001",
    }
    body.update(overrides)
    return body


async def create_application(
    api: httpx.AsyncClient, person: Person, client_id: str, product_id: str, **overrides: Any
) -> dict[str, Any]:
    response = await api.post(
        APPLICATIONS, json=application_body(client_id, product_id, **overrides), headers=person.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def act(
    api: httpx.AsyncClient, person: Person, path: str, version: int, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A state-changing POST with If-Match, expected to succeed."""
    response = await api.post(path, json=body or {}, headers=if_match(person, version))
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def decision(on: date | None = None, **extra: Any) -> dict[str, Any]:
    """An insurer's decision body: its reference and date (default today)."""
    return {
        "insurer_reference": f"UW-{uuid.uuid4().hex[:10].upper()}",
        "decided_on": (on or today()).isoformat(),
        **extra,
    }


def issue_body(
    *, issued_on: date | None = None, effective_on: date | None = None, **extra: Any
) -> dict[str, Any]:
    """An issue body: new policy number, insurer reference, issue and effective dates (default today)."""
    day = issued_on or today()
    return {
        "policy_number": f"P{uuid.uuid4().hex[:12].upper()}",
        "insurer_reference": f"CB-{uuid.uuid4().hex[:10].upper()}",
        "issued_on": day.isoformat(),
        "effective_on": (effective_on or day).isoformat(),
        **extra,
    }


async def walk_to_approved(
    api: httpx.AsyncClient, person: Person, application: dict[str, Any], *, decided_on: date | None = None
) -> dict[str, Any]:
    """Submit, underwriting and the insurer's approval (with a reference), on ``decided_on`` (default
    today; not before the application's ``applied_on``)."""
    path = f"{APPLICATIONS}/{application['id']}"
    submission = {"submitted_on": decided_on.isoformat()} if decided_on else None
    app = await act(api, person, f"{path}/submit", application["version"], submission)
    app = await act(api, person, f"{path}/underwriting", app["version"])
    return await act(api, person, f"{path}/approve", app["version"], decision(decided_on))


INSTALMENTS_PER_YEAR = {"single": 1, "annual": 1, "semi_annual": 2, "quarterly": 4, "monthly": 12}


async def pay_first_premium(
    api: httpx.AsyncClient, person: Person, application: dict[str, Any], *, paid_on: date | None = None
) -> dict[str, Any]:
    """Record the first premium of an application (submitted to approved): the first instalment
    of the product's premium mode, arrived ``paid_on`` (default today), by bank transfer."""
    product = (await api.get(f"{PRODUCTS}/{application['product_id']}", headers=person.headers)).json()
    per_year = INSTALMENTS_PER_YEAR[product["premium_mode"]]
    amount = (Decimal(application["annual_premium"]) / per_year).quantize(Decimal("0.01"))
    response = await api.post(
        f"{APPLICATIONS}/{application['id']}/first-premium",
        json={
            "amount": str(amount),
            "paid_on": (paid_on or today()).isoformat(),
            "method": "bank_transfer",
            "reference": f"TX{uuid.uuid4().hex[:10].upper()}",
        },
        headers=person.headers,
    )
    assert response.status_code == 201, response.text
    paid: dict[str, Any] = response.json()
    return paid


async def _ensure_birth_date(api: httpx.AsyncClient, person: Person, client_id: str) -> None:
    """Applications need the insured's age; give a client without a birth date an adult one."""
    response = await api.get(f"{CLIENTS}/{client_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    client = response.json()
    if client.get("birth_date") is None:
        patched = await api.patch(
            f"{CLIENTS}/{client_id}",
            json={"birth_date": "1985-06-12"},
            headers=if_match(person, client["version"]),
        )
        assert patched.status_code == 200, patched.text


async def issue_policy(
    api: httpx.AsyncClient,
    person: Person,
    client_id: str,
    *,
    effective_on: date | None = None,
    admin: Person | None = None,
    in_force: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """A policy for ``client_id`` (the policyholder and insured unless ``insured_member_id`` is given).

    Creates a product as ``admin`` unless ``product_id`` is among ``overrides``; other overrides go
    into the application body (``sum_insured``, ``annual_premium``, ``payment_years``...), except
    ``policy_number`` and ``issued_on`` (default: the effective date, or today if later), which go
    to the issue step; the application is dated (``applied_on``), submitted and approved that day.
    Walks draft → submitted → underwriting → approved → first premium paid (on the issue date) →
    issued, and with ``in_force`` on to receipt signed → return visit done → in force. Returns the
    policy JSON (``GET /api/v1/policies/{id}``).
    """
    policy_number = str(overrides.pop("policy_number", f"P{uuid.uuid4().hex[:12].upper()}"))
    effective = effective_on or today()
    issued_on = overrides.pop("issued_on", None) or min(effective, today())
    if isinstance(issued_on, date):
        issued_on = issued_on.isoformat()
    product_id = overrides.pop("product_id", None)
    if product_id is None:
        assert admin is not None, "issue_policy needs admin=... to create a product (or product_id=...)"
        product_id = (await create_product(api, admin))["id"]
    await _ensure_birth_date(api, person, client_id)

    # Applied for, submitted and decided on the issue day: nothing the insurer does precedes the
    # application (services/policies/evidence.py).
    overrides.setdefault("applied_on", issued_on)
    application = await create_application(api, person, client_id, str(product_id), **overrides)
    approved = await walk_to_approved(api, person, application, decided_on=date.fromisoformat(issued_on))
    await pay_first_premium(api, person, approved, paid_on=date.fromisoformat(issued_on))
    issued = await act(
        api,
        person,
        f"{APPLICATIONS}/{approved['id']}/issue",
        approved["version"],
        {
            "policy_number": policy_number,
            "insurer_reference": f"CB-{uuid.uuid4().hex[:10].upper()}",
            "issued_on": issued_on,
            "effective_on": effective.isoformat(),
        },
    )
    policy_id = issued["policy_id"]
    path = f"{BASE}/{policy_id}"
    if in_force:
        policy = (await api.get(path, headers=person.headers)).json()
        signed_on = date.fromisoformat(issued_on) + timedelta(days=2)
        signed_on = min(signed_on, today())
        policy = await act(
            api, person, f"{path}/receipt", policy["version"], {"signed_on": signed_on.isoformat()}
        )
        policy = await act(
            api,
            person,
            f"{path}/return-visit",
            policy["version"],
            {"visited_on": signed_on.isoformat(), "understood_cover": True, "signed_personally": True},
        )
        await act(api, person, f"{path}/mark-in-force", policy["version"])
    response = await api.get(path, headers=person.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


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


async def count(stack: Stack, table: str) -> int:
    rows = await stack.fetch(f"SELECT count(*) AS n FROM policies.{table}")  # noqa: S608 - our own table names
    return int(rows[0]["n"])


async def counts(stack: Stack) -> dict[str, int]:
    """Rows in every table of the policies schema: compare before/after to prove nothing was stored."""
    names = (
        "products",
        "proposals",
        "proposal_revisions",
        "applications",
        "underwriting_requirements",
        "policies",
        "premium_dues",
        "premium_payments",
        "audit_log",
        "return_visits",
        "compliance_flags",
        "policy_reviews",
    )
    return {name: await count(stack, name) for name in names}
