"""Shared helpers for the gateway views tests (no tests here): a full day of work for one agent."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests import policies_support
from tests.claims_support import age_last_update, report_claim
from tests.conftest import People, Person, Stack
from tests.devices_support import create_device
from tests.policies_support import APPLICATIONS, act, today

AGENDA = "/api/v1/agenda"
REPORT = "/api/v1/reports/business"
CLIENTS = "/api/v1/clients"
PROBLEM_JSON = "application/problem+json"
SERVICES = ("clients", "policies", "claims", "devices")
AGENDA_SERVICES = (*SERVICES, "tasks")
"""The agenda also asks the tasks service (its tasks section and the day's marks)."""
REPORT_SERVICES = (*SERVICES, "performance")
"""The business report also asks the performance service (per-agent rows)."""


def overview_path(client_id: str) -> str:
    return f"{CLIENTS}/{client_id}/overview"


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass
class Day:
    """What ``seed_day`` created, by section."""

    follow_up_client: dict[str, Any]
    appointment: dict[str, Any]
    birthday_client: dict[str, Any]
    cooling_off_policy: dict[str, Any]
    application: dict[str, Any]
    claim: dict[str, Any]
    device: dict[str, Any]


async def record_interaction(
    api: httpx.AsyncClient, person: Person, client_id: str, **body: Any
) -> dict[str, Any]:
    response = await api.post(f"{CLIENTS}/{client_id}/interactions", json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def underwriting_with_requirement(
    api: httpx.AsyncClient, people: People, person: Person, client_id: str, *, due_in_days: int
) -> dict[str, Any]:
    """An application in underwriting with one pending requirement due in N days."""
    product = await policies_support.create_product(api, people.admin)
    application = await policies_support.create_application(api, person, client_id, product["id"])
    path = f"{APPLICATIONS}/{application['id']}"
    app = await act(api, person, f"{path}/submit", application["version"])
    app = await act(api, person, f"{path}/underwriting", app["version"])
    due = (today() + timedelta(days=due_in_days)).isoformat()
    return await act(api, person, f"{path}/requirements", app["version"], {"kind": "other", "due_on": due})


async def seed_day(api: httpx.AsyncClient, stack: Stack, people: People, person: Person) -> Day:
    """Data in every section of ``person``'s agenda for today."""
    day = today()
    follow_up_client = await policies_support.create_client(api, person, name="李娜")
    await record_interaction(
        api, person, follow_up_client["id"], kind="call", next_follow_up_on=day.isoformat()
    )
    appointment = await record_interaction(
        api,
        person,
        follow_up_client["id"],
        kind="appointment",
        at=f"{day.isoformat()}T18:00:00+08:00",
        place="星巴克 陆家嘴店",
        purpose="家庭保障方案讲解",
    )
    birthday_client = await policies_support.create_client(
        api, person, name="王芳", birth_date=years_before(day + timedelta(days=3), 40).isoformat()
    )

    # Issued 12 days ago, receipt signed 10 days ago: cooling-off (15 days) ends in 5, return visit pending.
    policy = await policies_support.issue_policy(
        api,
        person,
        follow_up_client["id"],
        admin=people.admin,
        in_force=False,
        effective_on=day - timedelta(days=12),
    )
    policy = await act(
        api,
        person,
        f"/api/v1/policies/{policy['id']}/receipt",
        policy["version"],
        {"signed_on": (day - timedelta(days=10)).isoformat()},
    )
    application = await underwriting_with_requirement(
        api, people, person, birthday_client["id"], due_in_days=2
    )

    in_force = await policies_support.issue_policy(
        api, person, birthday_client["id"], admin=people.admin, effective_on=day - timedelta(days=100)
    )
    claim = await report_claim(api, person, in_force["id"])
    await age_last_update(stack, claim["id"], datetime.now().astimezone() - timedelta(days=10))

    device = await create_device(api, people.ops, asset_tag="AGENDA-PC", holder_id=str(person.user_id))
    return Day(
        follow_up_client=follow_up_client,
        appointment=appointment,
        birthday_client=birthday_client,
        cooling_off_policy=policy,
        application=application,
        claim=claim,
        device=device,
    )


def assert_problem(response: httpx.Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with the status, and (for validation) an error naming the field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if field is not None:
        assert any(e["field"] == field for e in problem["errors"]), problem
    return problem


def source(body: dict[str, Any], service: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in body["sources"] if s["service"] == service)
    return found


@contextlib.contextmanager
def views_timeout(stack: Stack, monkeypatch: pytest.MonkeyPatch, seconds: float) -> Iterator[None]:
    """A short fan-out timeout for this test only."""
    monkeypatch.setattr(stack.apps["gateway"].state.settings, "views_timeout_seconds", seconds)
    yield


@contextlib.contextmanager
def slow(stack: Stack, service: str, seconds: float) -> Iterator[None]:
    """The service answers only after ``seconds``."""
    host = f"{service}.internal"
    stack.mesh.slow[host] = seconds
    try:
        yield
    finally:
        stack.mesh.slow.pop(host, None)
