"""One client at a glance: the clients, policies and claims services asked at once.

The clients service decides whether the caller may see the client: its 404 (absent, or outside
the caller's scope) is the whole view's 404, whatever the other services said.
"""

from __future__ import annotations

import uuid
from typing import Any

from crmkit.problems import NotFound
from gateway.views.fanout import FanOut, Upstream, all_of, require_any
from gateway.views.schemas import ClientOverview, OpenApplication

LIST_LIMIT = 200
UNDECIDED = frozenset({"draft", "submitted", "underwriting", "requirements_pending"})


class ClientNotFound(NotFound):
    """No such client, or not one the caller may see: the same problem type as any 404."""


async def build_overview(*, fan_out: FanOut, client_id: uuid.UUID) -> ClientOverview:
    """Profile, tier, gaps and complaints; policies and open applications; claims."""
    base = f"/api/v1/clients/{client_id}"
    page = {"limit": LIST_LIMIT}

    async def clients(up: Upstream) -> dict[str, Any]:
        profile, tier, history, gaps, complaints = await all_of(
            up.get(base),
            up.get(f"{base}/tiering"),
            up.get(f"{base}/tiering/history", page),
            up.get(f"{base}/coverage-gaps"),
            up.get(f"{base}/complaints", page),
        )
        return {
            "profile": profile,
            "tier": tier,
            "tier_history": history["items"],
            "coverage_gaps": gaps,
            "complaints": complaints["items"],
            "next_follow_up_on": profile.get("next_follow_up_on"),
        }

    async def policies(up: Upstream) -> dict[str, Any]:
        issued, applications = await all_of(
            up.get("/api/v1/policies", {"client_id": client_id, **page}),
            up.get("/api/v1/policies/applications", {"client_id": client_id, **page}),
        )
        undecided = [a for a in applications["items"] if a["status"] in UNDECIDED]
        details = await all_of(*(up.get(f"/api/v1/policies/applications/{a['id']}") for a in undecided))
        return {
            "policies": issued["items"],
            "open_applications": [
                OpenApplication(application=summary, requirements=detail.get("requirements", []))
                for summary, detail in zip(undecided, details, strict=True)
            ],
        }

    async def claims(up: Upstream) -> dict[str, Any]:
        found = await up.get("/api/v1/claims", {"client_id": client_id, **page})
        return {"claims": found["items"]}

    results, sources = await fan_out.run({"clients": clients, "policies": policies, "claims": claims})
    if any(s.service == "clients" and s.http_status == 404 for s in sources):
        raise ClientNotFound("no such client")
    require_any(sources)
    parts: dict[str, Any] = {}
    for built in results.values():
        parts.update(built)
    return ClientOverview(
        client_id=client_id, partial=any(not s.ok for s in sources), sources=sources, **parts
    )
