"""Weekly client feedback (每周反馈), the timeline, and the agenda's work lists."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from crmkit.pagination import page_of, read_cursor
from services.claims import repository
from services.claims.errors import InvalidClaimField
from services.claims.models import Claim, ClaimEvent, infra_tables
from services.claims.schemas import AgendaLists, ClaimPage, ClientUpdateCreate, TimelinePage
from services.claims.views import RESOURCE, Tools, listed_read, timeline_entry

# A phone's clock may run a little ahead of the server's; beyond that, "later" is a typo.
CLOCK_SKEW = timedelta(minutes=5)


async def record_client_update(
    *, session: AsyncSession, tools: Tools, principal: Principal, claim: Claim, data: ClientUpdateCreate
) -> ClaimEvent:
    """Log what the client was told; it resets the weekly clock (a late entry never moves it back)."""
    now = tools.clock.now()
    contacted_at = data.contacted_at or now
    if contacted_at > now + CLOCK_SKEW:
        raise InvalidClaimField("contacted_at", "cannot be in the future")
    if contacted_at < tools.clock.start_of(claim.reported_on):
        raise InvalidClaimField("contacted_at", "cannot be before the claim was reported")
    event = ClaimEvent(
        claim_id=claim.id,
        kind="client_update",
        occurred_at=contacted_at,
        actor=principal.actor,
        channel=data.channel.value,
        summary=data.summary,
        recorded_at=now,
    )
    session.add(event)
    before = claim.last_client_update_at
    claim.last_client_update_at = max(before, contacted_at)
    claim.version += 1
    claim.updated_at = now
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.client_updated",
        resource_type=RESOURCE,
        resource_id=claim.id,
        # The summary may describe the client's health: it stays on the timeline, not in the trail.
        before={"last_client_update_at": before.isoformat(), "version": claim.version - 1},
        after={
            "channel": data.channel.value,
            "contacted_at": contacted_at.isoformat(),
            "last_client_update_at": claim.last_client_update_at.isoformat(),
            "version": claim.version,
        },
    )
    return event


async def timeline(*, session: AsyncSession, claim: Claim, limit: int, cursor: str | None) -> TimelinePage:
    """Every status change and client update of one claim, in the order they happened."""
    rows = await repository.timeline(
        session=session, claim_id=claim.id, after=read_cursor(cursor, datetime, int), limit=limit
    )

    def key(event: ClaimEvent) -> tuple[object, ...]:
        return (event.occurred_at, event.id)

    return page_of(rows, limit, key=key, view=timeline_entry)


async def updates_due(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    on: date | None,
    limit: int,
    cursor: str | None,
) -> ClaimPage:
    """Open claims whose last client update's business-local date is ``interval`` or more days ago."""
    today = on or tools.clock.today()
    # business_day(last) <= today - 7  ⟺  last < midnight (business zone) of today - 6.
    boundary = tools.clock.start_of(today - timedelta(days=tools.settings.client_update_interval_days - 1))
    rows = await repository.work_list(
        session=session,
        principal=principal,
        name="updates_due",
        before=boundary,
        after=read_cursor(cursor, datetime, uuid.UUID),
        limit=limit,
    )
    return page_of(
        rows, limit, key=lambda c: (c.last_client_update_at, c.id), view=lambda c: listed_read(c, tools)
    )


async def decisions_overdue(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    on: date | None,
    limit: int,
    cursor: str | None,
) -> ClaimPage:
    """Claims the insurer holds past their decision deadline (due date before today), most overdue first."""
    rows = await repository.work_list(
        session=session,
        principal=principal,
        name="decisions_overdue",
        before=on or tools.clock.today(),
        after=read_cursor(cursor, date, uuid.UUID),
        limit=limit,
    )
    return page_of(rows, limit, key=lambda c: (c.decision_due_on, c.id), view=lambda c: listed_read(c, tools))


async def documents_missing(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    older_than_days: int | None,
    on: date | None,
    limit: int,
    cursor: str | None,
) -> ClaimPage:
    """Open claims owing a required document for more than N days, longest first."""
    days = older_than_days if older_than_days is not None else tools.settings.documents_overdue_days
    rows = await repository.work_list(
        session=session,
        principal=principal,
        name="documents_missing",
        before=(on or tools.clock.today()) - timedelta(days=days),
        after=read_cursor(cursor, date, uuid.UUID),
        limit=limit,
    )
    return page_of(
        rows, limit, key=lambda c: (c.documents_missing_since, c.id), view=lambda c: listed_read(c, tools)
    )


async def agenda_lists(
    *, session: AsyncSession, tools: Tools, principal: Principal, on: date | None, limit: int
) -> AgendaLists:
    """Client updates due and decisions overdue, the first page of each (what the agenda shows)."""
    return AgendaLists(
        updates_due=await updates_due(
            session=session, tools=tools, principal=principal, on=on, limit=limit, cursor=None
        ),
        decisions_overdue=await decisions_overdue(
            session=session, tools=tools, principal=principal, on=on, limit=limit, cursor=None
        ),
    )
