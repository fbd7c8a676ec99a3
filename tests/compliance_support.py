"""Helpers for the compliance tests (issue 17) and for any test that must accept a proposal:
acknowledge every disclosure and record an informed choice for every warning, as the rules need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Person
from tests.policies_support import APPLICATIONS, PROPOSALS, if_match

RECORDED_ITEMS = ["agent_identity", "product_terms", "exclusions", "cooling_off", "client_confirmation"]


def disclosed_product(**overrides: Any) -> dict[str, Any]:
    """Product fields with every disclosure: exclusions, a waiting period."""
    return {
        "exclusions": ["投保前已患疾病", "社保外用药"],
        "waiting_days": 90,
        "guaranteed_benefits": ["重疾保险金"],
        **overrides,
    }


def participating(**overrides: Any) -> dict[str, Any]:
    """A participating annuity: non-guaranteed benefits, a maximum illustrated rate."""
    return {
        "category": "pension_annuity",
        "kind": "wealth",
        "walls": [],
        "exclusions": ["投保人故意行为"],
        "guaranteed_benefits": ["养老年金"],
        "non_guaranteed_basis": "participating",
        "non_guaranteed_benefits": ["红利"],
        "max_illustrated_rate": "3.50",
        **overrides,
    }


async def satisfy_acceptance(
    api: httpx.AsyncClient, person: Person, proposal: dict[str, Any], revision: int
) -> dict[str, Any]:
    """Acknowledge each disclosure item of the revision's products and record the client's informed
    choice for each warning finding; returns the proposal as it stands after."""
    chosen = next(r for r in proposal["revisions"] if r["revision"] == revision)
    current = proposal
    seen: set[str] = set()
    for item in chosen["items"]:
        disclosure = item.get("disclosure")
        if disclosure is None or disclosure["product_id"] in seen:
            continue
        seen.add(disclosure["product_id"])
        for what in disclosure["to_acknowledge"]:
            response = await api.post(
                f"{PROPOSALS}/{proposal['id']}/acknowledgments",
                json={
                    "revision": revision,
                    "product_id": disclosure["product_id"],
                    "item": what,
                    "channel": "in_person",
                    "disclosure_version": disclosure["disclosure_version"],
                },
                headers=person.headers,
            )
            assert response.status_code == 201, response.text
            current = response.json()
    resolved = {(c["finding_code"], c["item_id"]) for c in chosen.get("informed_choices", [])}
    for finding in chosen["findings"]:
        if finding["severity"] != "warning" or (finding["code"], finding.get("item_id")) in resolved:
            continue
        body: dict[str, Any] = {
            "revision": revision,
            "finding_code": finding["code"],
            "reason": "客户知情并坚持此方案",
            "channel": "in_person",
        }
        if finding.get("item_id"):
            body["item_id"] = finding["item_id"]
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/informed-choices", json=body, headers=person.headers
        )
        assert response.status_code == 201, response.text
        current = response.json()
    return current


async def accept(
    api: httpx.AsyncClient, person: Person, proposal: dict[str, Any], revision: int = 1
) -> dict[str, Any]:
    """Satisfy the compliance steps, then accept ``revision``."""
    current = await satisfy_acceptance(api, person, proposal, revision)
    response = await api.post(
        f"{PROPOSALS}/{proposal['id']}/accept",
        json={"revision": revision},
        headers=if_match(person, current["version"]),
    )
    assert response.status_code == 200, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


def recording(**overrides: Any) -> dict[str, Any]:
    end = datetime.now(UTC) - timedelta(minutes=5)
    return {
        "recording_reference": "REC-2026-0001",
        "started_at": (end - timedelta(minutes=25)).isoformat(),
        "ended_at": end.isoformat(),
        "confirmed_items": list(RECORDED_ITEMS),
        **overrides,
    }


async def record_traceability(
    api: httpx.AsyncClient, person: Person, application_id: str, **overrides: Any
) -> dict[str, Any]:
    response = await api.post(
        f"{APPLICATIONS}/{application_id}/traceability", json=recording(**overrides), headers=person.headers
    )
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record
