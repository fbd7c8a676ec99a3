"""The agent's day: every service's work lists for one agent, fetched at once, as dated entries.

A team lead (their team) or an admin (anyone) may ask for another user's agenda. The services
scope every list by the token they receive, so the gateway, having checked in its own identity
tables that the caller may see that user, forwards a short-lived read-only token *for that user*
(with no more scopes than the caller has): the lists are then exactly that user's.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Role, issue_access_token
from gateway.config import Settings
from gateway.identity.errors import UserNotFound
from gateway.identity.service import get_visible_user
from gateway.views.caller import Caller
from gateway.views.fanout import FanOut, Upstream, require_any
from gateway.views.schemas import Agenda, AgendaEntry, AgendaSection, Subject, SubjectType

LIST_LIMIT = 50
"""Items per section: the most urgent first; ``more`` says the service has more (its list has them)."""
LOOK_AHEAD_DAYS = 7
MAX_LOOK_AHEAD_DAYS = 365
DELEGATED_TTL = timedelta(minutes=1)
READ_SCOPES = frozenset({"clients:read", "policies:read", "claims:read", "devices:read", "tasks:read"})


async def authorization_for_agent(
    *, session: AsyncSession, settings: Settings, caller: Caller, agent_id: uuid.UUID | None
) -> tuple[uuid.UUID, str]:
    """Whose agenda, and the token to ask for it; 404 for a user the caller may not see."""
    principal = caller.principal
    if agent_id is None or agent_id == principal.user_id:
        return principal.user_id, caller.authorization
    if principal.role is Role.AGENT:
        raise UserNotFound("no such agent")
    user = await get_visible_user(session=session, principal=principal, user_id=agent_id)
    if not user.is_active or Role(user.role) not in (Role.AGENT, Role.TEAM_LEAD):
        raise UserNotFound("no such agent")
    scopes = READ_SCOPES if principal.scopes is None else READ_SCOPES & principal.scopes
    token = issue_access_token(
        settings,
        user_id=user.id,
        role=Role(user.role),
        team_id=user.team_id,
        scopes=scopes,
        location=user.location,
        ttl=DELEGATED_TTL,
    )
    return user.id, f"Bearer {token}"


async def build_agenda(
    *, fan_out: FanOut, day: date, today: date, zone: ZoneInfo, agent_id: uuid.UUID
) -> Agenda:
    """All four services at once; a section is null when its service did not answer."""
    ahead = min(MAX_LOOK_AHEAD_DAYS, max(0, (day - today).days) + LOOK_AHEAD_DAYS)

    # One call a service: each serves its part of the day as one document (its `agenda-lists`).
    async def clients(up: Upstream) -> dict[str, AgendaSection]:
        lists = await up.get(
            "/api/v1/clients/agenda-lists",
            {"date": day, "within_days": LOOK_AHEAD_DAYS, "limit": LIST_LIMIT},
        )
        return {
            "appointments": _section(lists["appointments"], _appointment, zone),
            "follow_ups": _section(lists["follow_ups"], _follow_up, zone),
            "birthdays_and_milestones": _section(lists["upcoming"], _upcoming, zone),
        }

    async def policies(up: Upstream) -> dict[str, AgendaSection]:
        lists = await up.get("/api/v1/policies/agenda-lists", {"within_days": ahead, "limit": LIST_LIMIT})
        return {
            "requirements_due": _section(lists["requirements_due"], _requirement, zone),
            "cooling_off_ending": _section(lists["cooling_off_ending"], _cooling_off, zone),
            "return_visits_pending": _section(lists["return_visits_pending"], _return_visit, zone),
            "premiums_due": _section(lists["premiums_due"], _premium, zone),
            "premiums_in_grace": _section(lists["collection"], _collection, zone),
            "renewals_due": _section(lists["renewals_due"], _renewal, zone),
            "lapsed_policies": _section(lists["lapsed"], _lapsed, zone),
            "reviews_due": _section(lists["reviews_due"], _review, zone),
        }

    async def claims(up: Upstream) -> dict[str, AgendaSection]:
        lists = await up.get("/api/v1/claims/agenda-lists", {"on": day, "limit": LIST_LIMIT})
        return {
            "claim_updates_due": _section(lists["updates_due"], _claim_update, zone),
            "claim_decisions_overdue": _section(lists["decisions_overdue"], _claim_decision, zone),
        }

    async def devices(up: Upstream) -> dict[str, AgendaSection]:
        lists = await up.get("/api/v1/devices/work-list", {"limit": LIST_LIMIT})
        return {
            "device_checks_due": _device_section(
                lists["checks_due_today"], "device_check_due", lists["on"], zone
            ),
            "maintenance_overdue": _device_section(
                lists["maintenance_overdue"], "maintenance_overdue", None, zone
            ),
        }

    marks: dict[str, str] = {}

    async def tasks(up: Upstream) -> dict[str, AgendaSection]:
        lists = await up.get("/api/v1/tasks/agenda-lists", {"date": day, "limit": LIST_LIMIT})
        marks.update({f"{m['kind']} {m['path']}": m["state"] for m in lists["marks"]})
        return {"tasks": _section(lists["tasks"], _task, zone)}

    results, sources = await fan_out.run(
        {"clients": clients, "policies": policies, "claims": claims, "devices": devices, "tasks": tasks}
    )
    require_any(sources)
    sections: dict[str, Any] = {}
    for built in results.values():
        sections.update(built)
    # What the agent marked done or snoozed on this day (kept by the tasks service), on every section.
    for section in sections.values():
        for entry in section.items if section is not None else ():
            entry.mark = marks.get(f"{entry.kind} {entry.path}")
    return Agenda(
        date=day,
        agent_id=agent_id,
        partial=any(not s.ok for s in sources),
        sources=sources,
        **sections,
    )


def _due_key(entry: AgendaEntry, zone: ZoneInfo) -> datetime:
    if entry.due_at is not None:
        return entry.due_at
    assert entry.due_on is not None
    return datetime.combine(entry.due_on, time.min, zone)


def _section(page: dict[str, Any], entry_of: Any, zone: ZoneInfo) -> AgendaSection:
    items = sorted((entry_of(item) for item in page["items"]), key=lambda e: _due_key(e, zone))
    return AgendaSection(count=len(items), more=page.get("next_cursor") is not None, items=items)


def _device_section(lists: dict[str, Any], kind: str, on: str | None, zone: ZoneInfo) -> AgendaSection:
    items = sorted(
        (
            AgendaEntry(
                kind=kind,
                due_on=date.fromisoformat(on or device["maintenance_due_on"]),
                subject=Subject(
                    type=SubjectType.DEVICE,
                    id=device["id"],
                    display_name=f"{device['asset_tag']} {device['model']}",
                ),
                detail=device["device_type"],
                path=f"/api/v1/devices/{device['id']}",
            )
            for device in lists["items"]
        ),
        key=lambda e: _due_key(e, zone),
    )
    return AgendaSection(count=len(items), more=lists["count"] > len(items), items=items)


def _client(client_id: str, name: str) -> Subject:
    return Subject(type=SubjectType.CLIENT, id=uuid.UUID(client_id), display_name=name)


def _appointment(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="appointment",
        due_at=item["at"],
        subject=_client(item["client_id"], item["client_name"]),
        client_id=item["client_id"],
        detail=" · ".join(p for p in (item.get("purpose"), item.get("place")) if p) or None,
        path=f"/api/v1/clients/{item['client_id']}/interactions/{item['id']}",
    )


def _follow_up(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="follow_up",
        due_on=item["next_follow_up_on"],
        subject=_client(item["id"], item["name"]),
        client_id=item["id"],
        detail=f"tier {item['tier']}" if item.get("tier") else None,
        path=f"/api/v1/clients/{item['id']}",
    )


def _upcoming(item: dict[str, Any]) -> AgendaEntry:
    milestone_id = item.get("milestone_id")
    path = f"/api/v1/clients/{item['client_id']}"
    if milestone_id:
        path += f"/milestones/{milestone_id}"
    return AgendaEntry(
        kind="birthday" if item["kind"] == "birthday" else "milestone",
        due_on=item["on"],
        subject=_client(item["client_id"], item["client_name"]),
        client_id=item["client_id"],
        detail=item["title"],
        path=path,
    )


def _requirement(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="requirement_due",
        due_on=item["due_on"],
        subject=Subject(
            type=SubjectType.APPLICATION, id=item["application_id"], display_name=item["insured_name"]
        ),
        client_id=item["client_id"],
        detail=item["kind"] + (" (overdue)" if item.get("overdue") else ""),
        path=f"/api/v1/policies/applications/{item['application_id']}",
    )


def _policy(item: dict[str, Any]) -> Subject:
    name = item.get("insured_name")
    display = f"{item['policy_number']} · {name}" if name else item["policy_number"]
    return Subject(type=SubjectType.POLICY, id=item["policy_id"], display_name=display)


def _cooling_off(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="cooling_off_ending",
        due_on=item["cooling_off_ends_on"],
        subject=_policy(item),
        client_id=item["client_id"],
        detail=item["product_name"],
        path=f"/api/v1/policies/{item['policy_id']}",
    )


def _return_visit(item: dict[str, Any]) -> AgendaEntry:
    """A return visit to arrange; after a failed one (unreached, 代签...) a redo."""
    redo = bool(item.get("redo"))
    reasons = ", ".join(item.get("failure_reasons") or [])
    return AgendaEntry(
        kind="return_visit_redo" if redo else "return_visit_pending",
        due_on=item["cooling_off_ends_on"],
        subject=_policy(item),
        client_id=item["client_id"],
        detail=item["product_name"] + (f" (last visit failed: {reasons})" if redo else ""),
        path=f"/api/v1/policies/{item['policy_id']}",
    )


def _review(item: dict[str, Any]) -> AgendaEntry:
    """A client's annual review (年度检视) falls due."""
    last = item.get("last_reviewed_on")
    return AgendaEntry(
        kind="annual_review_due",
        due_on=item["due_on"],
        subject=Subject(type=SubjectType.CLIENT, id=item["client_id"], display_name="annual review"),
        client_id=item["client_id"],
        detail=f"{item['policies_in_force']} policies in force; "
        + (f"last reviewed {last}" if last else "never reviewed")
        + (" (overdue)" if item.get("overdue") else ""),
        path=f"/api/v1/policies/reviews/{item['client_id']}",
    )


def _premium(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="premium_due",
        due_on=item["due_on"],
        subject=_policy(item),
        client_id=item["client_id"],
        detail=f"instalment {item['instalment']}: {item['amount']} CNY"
        + (" (overdue)" if item["overdue"] else ""),
        path=f"/api/v1/policies/{item['policy_id']}",
    )


def _collection(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="premium_in_grace",
        due_on=item["grace_ends_on"],
        subject=_policy(item),
        client_id=item["client_id"],
        detail=f"instalment {item['instalment']}: {item['amount']} CNY due {item['due_on']}; "
        "the policy lapses after the grace period",
        path=f"/api/v1/policies/{item['policy_id']}",
    )


def _renewal(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="renewal_due",
        due_on=item["expires_on"],
        subject=_policy(item),
        client_id=item["client_id"],
        detail=f"{item['product_name']}: the term ends in {item['days_left']} days",
        path=f"/api/v1/policies/{item['policy_id']}",
    )


def _lapsed(item: dict[str, Any]) -> AgendaEntry:
    return AgendaEntry(
        kind="policy_lapsed",
        due_on=item["reinstatement_until"],
        subject=_policy(item),
        client_id=item["client_id"],
        detail=f"{item['product_name']}: lapsed on {item['lapsed_on']}; reinstatement possible until then",
        path=f"/api/v1/policies/{item['policy_id']}",
    )


def _claim(item: dict[str, Any], kind: str, due_on: str | None) -> AgendaEntry:
    name = f"{item['claimant']['name']} · {item['claim_type']}"
    return AgendaEntry(
        kind=kind,
        due_on=due_on or item["reported_on"],
        subject=Subject(type=SubjectType.CLAIM, id=item["id"], display_name=name),
        client_id=item["client_id"],
        detail=item["status"],
        path=f"/api/v1/claims/{item['id']}",
    )


def _task(item: dict[str, Any]) -> AgendaEntry:
    link = item.get("link")
    return AgendaEntry(
        kind="task",
        due_at=item["due_at"],
        due_on=item["due_on"],
        subject=Subject(type=SubjectType.TASK, id=item["id"], display_name=item["title"]),
        client_id=link["id"] if link and link["type"] == "client" else None,
        detail=item["priority"],
        path=f"/api/v1/tasks/{item['id']}",
    )


def _claim_update(item: dict[str, Any]) -> AgendaEntry:
    return _claim(item, "claim_update_due", item.get("client_update_due_on"))


def _claim_decision(item: dict[str, Any]) -> AgendaEntry:
    return _claim(item, "claim_decision_overdue", item.get("decision_due_on"))
