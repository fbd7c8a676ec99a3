"""Tiering: scores → computed tier (``rules.py``), override with a reason, and a history row each
time the effective tier changes. The client's ``tier`` column mirrors the effective tier so lists
filter and sort on it; it is derived, so it moves without bumping the client record's version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page
from services.clients.models import Client, TierAssessment, TierChange
from services.clients.repository import newest_first
from services.clients.schemas import Tier
from services.clients.tiering.rules import compute_tier
from services.clients.tiering.schemas import (
    LifeEvent,
    TierChangeRead,
    TieringRead,
    TierOverride,
    TierScores,
    TierSource,
)
from services.clients.trail import diff, record_change

RESOURCE = "tiering"
SCORE_FIELDS = ("need_score", "capacity_score", "decision_score")
EVIDENCE_FIELDS = ("life_events", "need_evidence", "capacity_evidence", "decision_evidence")


def _tier(value: str | None) -> Tier | None:
    return Tier(value) if value else None


def to_read(client: Client, row: TierAssessment | None) -> TieringRead:
    because = None
    if row is not None and row.need_score and row.capacity_score and row.decision_score:
        because = compute_tier(row.need_score, row.capacity_score, row.decision_score).meaning
    return TieringRead(
        client_id=client.id,
        need_score=row.need_score if row else None,
        capacity_score=row.capacity_score if row else None,
        decision_score=row.decision_score if row else None,
        life_events=[LifeEvent(e) for e in row.life_events] if row else [],
        need_evidence=row.need_evidence if row else None,
        capacity_evidence=row.capacity_evidence if row else None,
        decision_evidence=row.decision_evidence if row else None,
        computed_tier=_tier(row.computed_tier) if row else None,
        computed_because=because,
        override_tier=_tier(row.override_tier) if row else None,
        override_reason=row.override_reason if row else None,
        tier=_tier(client.tier),
        version=row.version if row else 0,
        updated_at=row.updated_at if row else None,
    )


def change_to_read(change: TierChange) -> TierChangeRead:
    return TierChangeRead(
        id=change.id,
        client_id=change.client_id,
        from_tier=_tier(change.from_tier),
        to_tier=_tier(change.to_tier),
        computed_tier=_tier(change.computed_tier),
        source=TierSource(change.source),
        reason=change.reason,
        scores=change.scores,
        changed_by=change.changed_by,
        changed_at=change.created_at,
    )


def _view(row: TierAssessment) -> dict[str, Any]:
    return {
        name: getattr(row, name)
        for name in (*SCORE_FIELDS, *EVIDENCE_FIELDS, "computed_tier", "override_tier", "override_reason")
    }


async def assessment_of(*, session: AsyncSession, client: Client) -> TierAssessment | None:
    return await session.get(TierAssessment, client.id)


def _blank(client: Client, now: datetime) -> TierAssessment:
    return TierAssessment(client_id=client.id, life_events=[], version=0, created_at=now, updated_at=now)


async def _apply(
    *,
    session: AsyncSession,
    principal: Principal,
    client: Client,
    row: TierAssessment,
    before: dict[str, Any],
    action: str,
    source: TierSource,
    reason: str | None,
) -> TierAssessment:
    """Bump the assessment, audit it, and follow the effective tier onto the client and history."""
    old, new = diff(before, _view(row))
    if not new and row.version > 0:
        return row
    now = datetime.now(UTC)
    row.version += 1
    row.updated_at = now
    effective = row.override_tier or row.computed_tier
    if effective != client.tier:
        session.add(
            TierChange(
                client_id=client.id,
                from_tier=client.tier,
                to_tier=effective,
                computed_tier=row.computed_tier,
                source=source.value,
                reason=reason,
                scores={name: getattr(row, name) for name in SCORE_FIELDS},
                changed_by=principal.actor,
                created_at=now,
            )
        )
        client.tier = effective
    await session.flush()
    await record_change(
        session,
        principal,
        action=action,
        resource_type=RESOURCE,
        resource_id=client.id,
        before=old,
        after=new,
    )
    return row


async def assess(
    *,
    session: AsyncSession,
    principal: Principal,
    client: Client,
    row: TierAssessment | None,
    data: TierScores,
) -> TierAssessment:
    """Replace the scores and evidence; the computed tier follows (an override stays until cleared)."""
    row = row or _blank(client, datetime.now(UTC))
    before = _view(row) if row.version else {}
    session.add(row)
    for name in (*SCORE_FIELDS, "need_evidence", "capacity_evidence", "decision_evidence"):
        setattr(row, name, getattr(data, name))
    row.life_events = [event.value for event in data.life_events]
    row.computed_tier = compute_tier(data.need_score, data.capacity_score, data.decision_score).tier
    return await _apply(
        session=session,
        principal=principal,
        client=client,
        row=row,
        before=before,
        action="tiering.assessed",
        source=TierSource.SCORES,
        reason=None,
    )


async def override(
    *,
    session: AsyncSession,
    principal: Principal,
    client: Client,
    row: TierAssessment | None,
    data: TierOverride,
) -> TierAssessment:
    """The agent's tier wins over the computed one until the override is cleared."""
    row = row or _blank(client, datetime.now(UTC))
    before = _view(row) if row.version else {}
    session.add(row)
    row.override_tier = data.tier.value
    row.override_reason = data.reason
    return await _apply(
        session=session,
        principal=principal,
        client=client,
        row=row,
        before=before,
        action="tiering.overridden",
        source=TierSource.OVERRIDE,
        reason=data.reason,
    )


async def clear_override(
    *, session: AsyncSession, principal: Principal, client: Client, row: TierAssessment
) -> TierAssessment:
    """Back to the computed tier."""
    before = _view(row)
    row.override_tier = None
    row.override_reason = None
    return await _apply(
        session=session,
        principal=principal,
        client=client,
        row=row,
        before=before,
        action="tiering.override_cleared",
        source=TierSource.OVERRIDE_CLEARED,
        reason=None,
    )


async def history_of(
    *, session: AsyncSession, client: Client, cursor: str | None, limit: int
) -> Page[TierChangeRead]:
    """Every change of the client's effective tier, newest first."""
    rows, next_cursor = await newest_first(
        session=session,
        model=TierChange,
        conditions=[col(TierChange.client_id) == client.id],
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[change_to_read(row) for row in rows], next_cursor=next_cursor)
