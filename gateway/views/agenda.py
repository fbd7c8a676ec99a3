"""The agent's day: every service's work lists for one agent, fetched at once, as dated entries.

A team lead (their team) or an admin (anyone) may ask for another user's agenda. The services
scope every list by the token they receive, so the gateway, having checked in its own identity
tables that the caller may see that user, forwards a short-lived read-only token *for that user*
(with no more scopes than the caller has): the lists are then exactly that user's.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Hashable
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import Role, issue_access_token
from gateway.config import Settings
from gateway.identity.errors import UserNotFound
from gateway.identity.service import get_visible_user
from gateway.views.agenda_cache import NAME, AgendaCache, Kept, Part, audience
from gateway.views.caller import Caller
from gateway.views.fanout import FanOut, Job, Upstream, require_any
from gateway.views.schemas import Agenda, SubjectType

LIST_LIMIT = 50
"""Items per section: the most urgent first; ``more`` says the service has more (its list has them)."""
LOOK_AHEAD_DAYS = 7
MAX_LOOK_AHEAD_DAYS = 365
DELEGATED_TTL = timedelta(minutes=1)
READ_SCOPES = frozenset({"clients:read", "policies:read", "claims:read", "devices:read", "tasks:read"})


async def authorization_for_agent(
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    agent_id: uuid.UUID | None,
) -> tuple[uuid.UUID, str, Hashable]:
    """Whose agenda, the token to ask for it, and what the services scope its lists by (the kept
    agenda's key, ``agenda_cache.audience``); 404 for a user the caller may not see."""
    principal = caller.principal
    if agent_id is None or agent_id == principal.user_id:
        seen_as = audience(
            principal.user_id, principal.role.value, principal.team_id, principal.location, principal.scopes
        )
        return principal.user_id, caller.authorization, seen_as
    if principal.role is Role.AGENT:
        raise UserNotFound("no such agent")
    # A session only for another's agenda: one's own needs no database (most asks, served kept).
    async with sessions() as session:
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
    return user.id, f"Bearer {token}", audience(user.id, user.role, user.team_id, user.location, scopes)


Fetched = tuple[dict[str, "Section"], dict[str, str]]
"""One service's part: its sections by name, and the day's marks (only the tasks service has them)."""
SERVICES = ("clients", "policies", "claims", "devices", "tasks")


def _jobs(day: date, today: date, zone: ZoneInfo) -> dict[str, Job[Fetched]]:
    """One call a service: each serves its part of the day as one document (its `agenda-lists`)."""
    ahead = min(MAX_LOOK_AHEAD_DAYS, max(0, (day - today).days) + LOOK_AHEAD_DAYS)

    async def clients(up: Upstream) -> Fetched:
        lists = await up.get(
            "/api/v1/clients/agenda-lists",
            {"date": day, "within_days": LOOK_AHEAD_DAYS, "limit": LIST_LIMIT},
        )
        sections = {
            "appointments": _section(lists["appointments"], _appointment, zone),
            "follow_ups": _section(lists["follow_ups"], _follow_up, zone),
            "birthdays_and_milestones": _section(lists["upcoming"], _upcoming, zone),
        }
        return sections, {}

    async def policies(up: Upstream) -> Fetched:
        lists = await up.get("/api/v1/policies/agenda-lists", {"within_days": ahead, "limit": LIST_LIMIT})
        sections = {
            "requirements_due": _section(lists["requirements_due"], _requirement, zone),
            "cooling_off_ending": _section(lists["cooling_off_ending"], _cooling_off, zone),
            "return_visits_pending": _section(lists["return_visits_pending"], _return_visit, zone),
            "premiums_due": _section(lists["premiums_due"], _premium, zone),
            "premiums_in_grace": _section(lists["collection"], _collection, zone),
            "renewals_due": _section(lists["renewals_due"], _renewal, zone),
            "lapsed_policies": _section(lists["lapsed"], _lapsed, zone),
            "reviews_due": _section(lists["reviews_due"], _review, zone),
        }
        return sections, {}

    async def claims(up: Upstream) -> Fetched:
        lists = await up.get("/api/v1/claims/agenda-lists", {"on": day, "limit": LIST_LIMIT})
        sections = {
            "claim_updates_due": _section(lists["updates_due"], _claim_update, zone),
            "claim_decisions_overdue": _section(lists["decisions_overdue"], _claim_decision, zone),
        }
        return sections, {}

    async def devices(up: Upstream) -> Fetched:
        lists = await up.get("/api/v1/devices/work-list", {"limit": LIST_LIMIT})
        sections = {
            "device_checks_due": _device_section(
                lists["checks_due_today"], "device_check_due", lists["on"], zone
            ),
            "maintenance_overdue": _device_section(
                lists["maintenance_overdue"], "maintenance_overdue", None, zone
            ),
        }
        return sections, {}

    async def tasks(up: Upstream) -> Fetched:
        lists = await up.get("/api/v1/tasks/agenda-lists", {"date": day, "limit": LIST_LIMIT})
        marks = {f"{m['kind']} {m['path']}": m["state"] for m in lists["marks"]}
        return {"tasks": _section(lists["tasks"], _task, zone)}, marks

    return {"clients": clients, "policies": policies, "claims": claims, "devices": devices, "tasks": tasks}


async def build_agenda(
    *,
    fan_out: FanOut,
    cache: AgendaCache,
    key: Hashable,
    refresh: bool,
    day: date,
    today: date,
    zone: ZoneInfo,
    agent_id: uuid.UUID,
) -> tuple[bytes, str]:
    """All five services' parts, as the JSON of an ``Agenda`` and its ``Cache-Status``; a section is
    null when its service did not answer.

    Parts the cache holds fresh are not asked for again (gateway/views/agenda_cache.py); only the
    services whose part is missing or stale are, at once. The entries are plain dicts in
    ``AgendaEntry``'s field order, encoded once: building one model an entry, then validating the
    response again, was a fifth of the gateway's CPU an agenda (issue 22). The services validated
    what they answer; the body is byte for byte what the models would give
    (tests/test_gateway_views_agenda.py checks that it is a fixed point of ``Agenda``).
    """
    usable = cache.usable and not refresh
    collapsed = ""
    pending = cache.being_built(key) if usable else None
    if pending is not None:
        # The same agenda is being built: its answer is waited for, not asked for again; what it
        # did not bring (a service that failed) is asked below.
        await pending.wait()
        collapsed = "; collapsed"
    kept = cache.kept(key) if usable else None
    moment = monotonic()
    parts = dict(kept.parts) if kept is not None else {}
    stale = [s for s in SERVICES if not cache.fresh(parts.get(s), s, moment)]
    if kept is not None and kept.pieces is not None and not stale:
        # RFC 9211: served by another's forward request, ``collapsed`` with it.
        return b"".join(kept.pieces), f"{NAME}; fwd=miss{collapsed}" if collapsed else f"{NAME}; hit"
    # What each asked service's part is as of: a change signalled while it is asked makes it stale.
    generations = {service: cache.generation(service) for service in stale}
    epoch = cache.epoch
    jobs = _jobs(day, today, zone)
    with cache.building(key) if usable and pending is None else contextlib.nullcontext():
        async with cache.builds:
            results, sources = await fan_out.run({service: jobs[service] for service in stale})
        for source in sources:
            fetched = results.get(source.service)
            parts[source.service] = Part(
                None if fetched is None else _encoded(fetched),
                source,
                generations[source.service],
                epoch,
                moment,
            )
        pieces = _pieces(parts, day=day, agent_id=agent_id)
        body = b"".join(pieces)
        if not cache.usable:
            return body, f"{NAME}; fwd={'request' if refresh and cache.listening else 'bypass'}"
        # A partial answer is not served again, but the parts that came are: next time only the
        # services that failed are asked.
        complete = all(parts[s].source.ok for s in SERVICES)
        cache.keep(key, Kept(parts, pieces if complete else None))
    reason = "request" if refresh else ("stale" if kept is not None else "uri-miss")
    return body, f"{NAME}; fwd={reason}{collapsed}" + ("; stored" if complete else "")


Encoded = tuple[dict[str, bytes], dict[str, str]]
"""A service's part as it is kept: each section's JSON (entries unmarked), and the day's marks."""


def _encoded(fetched: Fetched) -> Encoded:
    """Kept as JSON, not as dicts: a fifth of the memory (an agenda of the bench's agents is ~40 kB)."""
    sections, marks = fetched
    return {name: to_json(section) for name, section in sections.items()}, marks


def _pieces(parts: dict[str, Part], *, day: date, agent_id: uuid.UUID) -> list[bytes]:
    """The agenda's JSON from every service's part (in ``SERVICES``' order), in pieces: the head,
    then each section in the model's order, null for a service that did not answer. Joined, the
    bytes ``to_json`` gives for the whole agenda as one dict (its output is compact, and the
    section names need no escaping)."""
    sources = [parts[service].source for service in SERVICES]
    require_any(sources)
    built: dict[str, bytes] = {}
    marks: dict[str, str] = {}
    for service in SERVICES:
        part = parts[service]
        if part.source.ok:
            sections, service_marks = part.result
            built.update(sections)
            marks.update(service_marks)
    # What the agent marked done or snoozed on this day (kept by the tasks service), on every
    # section; on copies, as the parts are kept and the marks change apart from them.
    if marks:
        built = {name: _marked(section, marks) for name, section in built.items()}
    head = to_json(
        {"date": day, "agent_id": agent_id, "partial": any(not s.ok for s in sources), "sources": sources}
    )
    pieces = [head[:-1]]
    for name in SECTION_NAMES:
        pieces += [_KEYS[name], built.get(name, b"null")]
    pieces.append(b"}")
    return pieces


def _marked(section: bytes, marks: dict[str, str]) -> bytes:
    loaded = json.loads(section)
    for entry in loaded["items"]:
        entry["mark"] = marks.get(f"{entry['kind']} {entry['path']}")
    return to_json(loaded)


Entry = dict[str, Any]
"""An ``AgendaEntry`` as its JSON: its fields in the model's order, ``due_at`` a ``datetime``."""
Section = dict[str, Any]
"""An ``AgendaSection`` as its JSON: ``count``, ``more``, ``items`` (entries)."""
SECTION_NAMES = tuple(
    name for name in Agenda.model_fields if name not in ("date", "agent_id", "partial", "sources")
)
_KEYS = {name: f',"{name}":'.encode() for name in SECTION_NAMES}


def _entry(
    kind: str,
    subject: dict[str, Any],
    path: str,
    *,
    due_at: str | None = None,
    due_on: str | None = None,
    client_id: str | None = None,
    detail: str | None = None,
) -> Entry:
    """An entry; a ``due_at`` is parsed (the sections sort by it, and it is written as the model would)."""
    return {
        "kind": kind,
        "due_at": None if due_at is None else datetime.fromisoformat(due_at),
        "due_on": due_on,
        "subject": subject,
        "client_id": client_id,
        "detail": detail,
        "path": path,
        "mark": None,
    }


def _due_key(entry: Entry, zone: ZoneInfo) -> datetime:
    due_at: datetime | None = entry["due_at"]
    if due_at is not None:
        return due_at
    due_on = entry["due_on"]
    assert due_on is not None
    return datetime.combine(date.fromisoformat(due_on), time.min, zone)


def _section(page: dict[str, Any], entry_of: Callable[[dict[str, Any]], Entry], zone: ZoneInfo) -> Section:
    items = sorted((entry_of(item) for item in page["items"]), key=lambda e: _due_key(e, zone))
    return {"count": len(items), "more": page.get("next_cursor") is not None, "items": items}


def _device_section(lists: dict[str, Any], kind: str, on: str | None, zone: ZoneInfo) -> Section:
    items = sorted(
        (
            _entry(
                kind,
                _subject(SubjectType.DEVICE, device["id"], f"{device['asset_tag']} {device['model']}"),
                f"/api/v1/devices/{device['id']}",
                due_on=on or device["maintenance_due_on"],
                detail=device["device_type"],
            )
            for device in lists["items"]
        ),
        key=lambda e: _due_key(e, zone),
    )
    return {"count": len(items), "more": lists["count"] > len(items), "items": items}


def _subject(type_: SubjectType, id_: str, display_name: str) -> dict[str, Any]:
    return {"type": type_.value, "id": id_, "display_name": display_name}


def _client(client_id: str, name: str) -> dict[str, Any]:
    return _subject(SubjectType.CLIENT, client_id, name)


def _appointment(item: dict[str, Any]) -> Entry:
    return _entry(
        "appointment",
        _client(item["client_id"], item["client_name"]),
        f"/api/v1/clients/{item['client_id']}/interactions/{item['id']}",
        due_at=item["at"],
        client_id=item["client_id"],
        detail=" · ".join(p for p in (item.get("purpose"), item.get("place")) if p) or None,
    )


def _follow_up(item: dict[str, Any]) -> Entry:
    return _entry(
        "follow_up",
        _client(item["id"], item["name"]),
        f"/api/v1/clients/{item['id']}",
        due_on=item["next_follow_up_on"],
        client_id=item["id"],
        detail=f"tier {item['tier']}" if item.get("tier") else None,
    )


def _upcoming(item: dict[str, Any]) -> Entry:
    milestone_id = item.get("milestone_id")
    path = f"/api/v1/clients/{item['client_id']}"
    if milestone_id:
        path += f"/milestones/{milestone_id}"
    return _entry(
        "birthday" if item["kind"] == "birthday" else "milestone",
        _client(item["client_id"], item["client_name"]),
        path,
        due_on=item["on"],
        client_id=item["client_id"],
        detail=item["title"],
    )


def _requirement(item: dict[str, Any]) -> Entry:
    return _entry(
        "requirement_due",
        _subject(SubjectType.APPLICATION, item["application_id"], item["insured_name"]),
        f"/api/v1/policies/applications/{item['application_id']}",
        due_on=item["due_on"],
        client_id=item["client_id"],
        detail=item["kind"] + (" (overdue)" if item.get("overdue") else ""),
    )


def _policy(item: dict[str, Any]) -> dict[str, Any]:
    name = item.get("insured_name")
    display = f"{item['policy_number']} · {name}" if name else item["policy_number"]
    return _subject(SubjectType.POLICY, item["policy_id"], display)


def _cooling_off(item: dict[str, Any]) -> Entry:
    return _entry(
        "cooling_off_ending",
        _policy(item),
        f"/api/v1/policies/{item['policy_id']}",
        due_on=item["cooling_off_ends_on"],
        client_id=item["client_id"],
        detail=item["product_name"],
    )


def _return_visit(item: dict[str, Any]) -> Entry:
    """A return visit to arrange; after a failed one (unreached, 代签...) a redo."""
    redo = bool(item.get("redo"))
    reasons = ", ".join(item.get("failure_reasons") or [])
    return _entry(
        "return_visit_redo" if redo else "return_visit_pending",
        _policy(item),
        f"/api/v1/policies/{item['policy_id']}",
        due_on=item["cooling_off_ends_on"],
        client_id=item["client_id"],
        detail=item["product_name"] + (f" (last visit failed: {reasons})" if redo else ""),
    )


def _review(item: dict[str, Any]) -> Entry:
    """A client's annual review (年度检视) falls due."""
    last = item.get("last_reviewed_on")
    return _entry(
        "annual_review_due",
        _subject(SubjectType.CLIENT, item["client_id"], "annual review"),
        f"/api/v1/policies/reviews/{item['client_id']}",
        due_on=item["due_on"],
        client_id=item["client_id"],
        detail=f"{item['policies_in_force']} policies in force; "
        + (f"last reviewed {last}" if last else "never reviewed")
        + (" (overdue)" if item.get("overdue") else ""),
    )


def _premium(item: dict[str, Any]) -> Entry:
    return _entry(
        "premium_due",
        _policy(item),
        f"/api/v1/policies/{item['policy_id']}",
        due_on=item["due_on"],
        client_id=item["client_id"],
        detail=f"instalment {item['instalment']}: {item['amount']} CNY"
        + (" (overdue)" if item["overdue"] else ""),
    )


def _collection(item: dict[str, Any]) -> Entry:
    return _entry(
        "premium_in_grace",
        _policy(item),
        f"/api/v1/policies/{item['policy_id']}",
        due_on=item["grace_ends_on"],
        client_id=item["client_id"],
        detail=f"instalment {item['instalment']}: {item['amount']} CNY due {item['due_on']}; "
        "the policy lapses after the grace period",
    )


def _renewal(item: dict[str, Any]) -> Entry:
    return _entry(
        "renewal_due",
        _policy(item),
        f"/api/v1/policies/{item['policy_id']}",
        due_on=item["expires_on"],
        client_id=item["client_id"],
        detail=f"{item['product_name']}: the term ends in {item['days_left']} days",
    )


def _lapsed(item: dict[str, Any]) -> Entry:
    return _entry(
        "policy_lapsed",
        _policy(item),
        f"/api/v1/policies/{item['policy_id']}",
        due_on=item["reinstatement_until"],
        client_id=item["client_id"],
        detail=f"{item['product_name']}: lapsed on {item['lapsed_on']}; reinstatement possible until then",
    )


def _claim(item: dict[str, Any], kind: str, due_on: str | None) -> Entry:
    name = f"{item['claimant']['name']} · {item['claim_type']}"
    return _entry(
        kind,
        _subject(SubjectType.CLAIM, item["id"], name),
        f"/api/v1/claims/{item['id']}",
        due_on=due_on or item["reported_on"],
        client_id=item["client_id"],
        detail=item["status"],
    )


def _task(item: dict[str, Any]) -> Entry:
    link = item.get("link")
    return _entry(
        "task",
        _subject(SubjectType.TASK, item["id"], item["title"]),
        f"/api/v1/tasks/{item['id']}",
        due_at=item["due_at"],
        due_on=item["due_on"],
        client_id=link["id"] if link and link["type"] == "client" else None,
        detail=item["priority"],
    )


def _claim_update(item: dict[str, Any]) -> Entry:
    return _claim(item, "claim_update_due", item.get("client_update_due_on"))


def _claim_decision(item: dict[str, Any]) -> Entry:
    return _claim(item, "claim_decision_overdue", item.get("decision_due_on"))
