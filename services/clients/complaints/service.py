"""Complaint handling: the status moves only along ``COMPLAINT_TRANSITIONS`` (complaints/transitions.py);
each target status names the fields it needs and the timestamp it sets. A reported complaint is closed
to further change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page
from crmkit.problems import Conflict
from crmkit.workflow import allowed_next, ensure_transition
from services.clients.complaints.schemas import (
    ComplaintCategory,
    ComplaintCreate,
    ComplaintRead,
    ComplaintReport,
    ComplaintStatus,
    ComplaintUpdate,
    ComplianceFinding,
)
from services.clients.complaints.transitions import (
    COMPLAINT_TRANSITIONS,
    REQUIRED_ON_ENTRY,
    STAMPED_ON_ENTRY,
)
from services.clients.errors import InvalidClientField
from services.clients.models import Client, Complaint
from services.clients.peers import PolicyBook
from services.clients.repository import newest_first, visible_client_ids
from services.clients.trail import diff, record_change

RESOURCE = "complaint"
CLOCK_SKEW = timedelta(minutes=5)
S = ComplaintStatus

EDITABLE = ("summary", "category", "policy_id", "compliance_findings", "facts", "resolution",
            "report_summary", "lessons_learned")  # fmt: skip


def to_read(row: Complaint) -> ComplaintRead:
    status = ComplaintStatus(row.status)
    return ComplaintRead(
        id=row.id,
        client_id=row.client_id,
        policy_id=row.policy_id,
        category=ComplaintCategory(row.category),
        compliance_findings=[ComplianceFinding(f) for f in row.compliance_findings],
        summary=row.summary,
        status=status,
        next_statuses=[ComplaintStatus(s) for s in allowed_next(COMPLAINT_TRANSITIONS, status)],
        facts=row.facts,
        resolution=row.resolution,
        report_summary=row.report_summary,
        lessons_learned=row.lessons_learned,
        received_at=row.received_at,
        investigating_at=row.investigating_at,
        resolved_at=row.resolved_at,
        reported_at=row.reported_at,
        handled_by=row.handled_by,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def in_scope(
    *,
    session: AsyncSession,
    principal: Principal,
    status: ComplaintStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[ComplaintRead]:
    """Complaints about the clients in the caller's scope, newest first, optionally by status."""
    conditions: list[ColumnElement[bool]] = [col(Complaint.client_id).in_(visible_client_ids(principal))]
    if status is not None:
        conditions.append(col(Complaint.status) == status.value)
    rows, next_cursor = await newest_first(
        session=session, model=Complaint, conditions=conditions, cursor=cursor, limit=limit
    )
    return Page(items=[to_read(row) for row in rows], next_cursor=next_cursor)


async def of_client(
    *, session: AsyncSession, client: Client, cursor: str | None, limit: int
) -> Page[ComplaintRead]:
    """The client's complaints, newest first."""
    rows, next_cursor = await newest_first(
        session=session,
        model=Complaint,
        conditions=[col(Complaint.client_id) == client.id],
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[to_read(row) for row in rows], next_cursor=next_cursor)


def _view(row: Complaint) -> dict[str, Any]:
    return to_read(row).model_dump(mode="json", exclude={"next_statuses", "created_at", "updated_at"})


async def check_policy(book: PolicyBook, client: Client, policy_id: uuid.UUID | None) -> None:
    """A complaint's policy must be one the caller can see, covering this client (422 otherwise);
    asked of the policies service, which owns policies."""
    if policy_id is None:
        return
    holder = await book.client_of_policy(policy_id)
    if holder is None:
        raise InvalidClientField("policy_id", "no such policy in your book")
    if holder != client.id:
        raise InvalidClientField("policy_id", "the policy is not this client's")


async def receive(
    *, session: AsyncSession, principal: Principal, client: Client, data: ComplaintCreate, book: PolicyBook
) -> Complaint:
    """Take a complaint down as the client put it."""
    await check_policy(book, client, data.policy_id)
    now = datetime.now(UTC)
    received_at = data.received_at or now
    if received_at > now + CLOCK_SKEW:
        raise InvalidClientField("received_at", "cannot be in the future")
    row = Complaint(
        client_id=client.id,
        policy_id=data.policy_id,
        category=data.category.value,
        compliance_findings=[f.value for f in data.compliance_findings],
        summary=data.summary,
        received_at=received_at,
        status=ComplaintStatus.RECEIVED.value,
        handled_by=principal.user_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await record_change(
        session,
        principal,
        action="complaint.received",
        resource_type=RESOURCE,
        resource_id=row.id,
        after=_view(row),
    )
    return row


def _apply_edits(row: Complaint, patch: ComplaintUpdate) -> None:
    """The handling record's fields the patch names (enums stored as their values)."""
    for name in EDITABLE:
        if name in patch.model_fields_set:
            value = getattr(patch, name)
            if isinstance(value, list):
                value = [v.value for v in value]
            setattr(row, name, value.value if isinstance(value, StrEnum) else value)


def _check_required(row: Complaint, status: ComplaintStatus) -> None:
    """The fields a complaint in ``status`` must have (REQUIRED_ON_ENTRY)."""
    for name in REQUIRED_ON_ENTRY[status]:
        if getattr(row, name) is None:
            raise InvalidClientField(name, f"required before a complaint is {status.value}")


def _enter(row: Complaint, target: ComplaintStatus, now: datetime) -> None:
    """Move into ``target``: its required fields checked, its timestamp set (STAMPED_ON_ENTRY)."""
    _check_required(row, target)
    row.status = target.value
    stamp = STAMPED_ON_ENTRY[target]
    if stamp is not None:
        setattr(row, stamp, now)


async def update(
    *,
    session: AsyncSession,
    principal: Principal,
    client: Client,
    row: Complaint,
    patch: ComplaintUpdate,
    book: PolicyBook,
) -> Complaint:
    """Edit the handling record and/or move the status along the transition table."""
    current = ComplaintStatus(row.status)
    target = patch.status or current
    if target is not current:
        ensure_transition(
            COMPLAINT_TRANSITIONS, resource=RESOURCE, current=current.value, requested=target.value
        )
    if current is S.REPORTED:
        raise Conflict("this complaint is reported and closed; it can no longer change")
    if "policy_id" in patch.model_fields_set and patch.policy_id != row.policy_id:
        await check_policy(book, client, patch.policy_id)
    before = _view(row)
    _apply_edits(row, patch)
    now = datetime.now(UTC)
    if target is not current:
        _enter(row, target, now)
    else:
        _check_required(row, target)
    old, new = diff(before, _view(row))
    if not new:
        return row
    row.version += 1
    row.updated_at = now
    await session.flush()
    await record_change(
        session,
        principal,
        action=f"complaint.{target.value}" if target is not current else "complaint.updated",
        resource_type=RESOURCE,
        resource_id=row.id,
        before=old,
        after=new,
    )
    return row


def report(row: Complaint, client: Client) -> ComplaintReport:
    """The handling report; only a reported complaint has one."""
    if row.status != S.REPORTED:
        raise Conflict(f"the report exists once the complaint is reported; it is {row.status}")
    # Reaching "reported" required all of these (REQUIRED_ON_ENTRY, STAMPED_ON_ENTRY): the report repeats them
    # without checking again.
    facts, resolution, summary, lessons = row.facts, row.resolution, row.report_summary, row.lessons_learned
    resolved_at, reported_at = row.resolved_at, row.reported_at
    if (
        facts is None
        or resolution is None
        or summary is None
        or lessons is None
        or resolved_at is None
        or reported_at is None
    ):
        raise Conflict("this complaint's handling record is incomplete")
    return ComplaintReport(
        complaint_id=row.id,
        client_id=client.id,
        client_name=client.name,
        policy_id=row.policy_id,
        category=ComplaintCategory(row.category),
        compliance_findings=[ComplianceFinding(f) for f in row.compliance_findings],
        complaint=row.summary,
        facts=facts,
        resolution=resolution,
        summary=summary,
        lessons_learned=lessons,
        received_at=row.received_at,
        investigating_at=row.investigating_at,
        resolved_at=resolved_at,
        reported_at=reported_at,
        days_to_resolve=(resolved_at - row.received_at).days,
        handled_by=row.handled_by,
    )
