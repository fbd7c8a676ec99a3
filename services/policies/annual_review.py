"""The annual review (年度检视, manual 五.1) as a workflow: who is due, the review held and recorded
with its findings, and the count the business report shows.

Due rule: a client with at least one policy in force (receipt signed, return visit done or in force;
effective by today) is due twelve months after their last recorded review, or, never reviewed,
twelve months after their first such policy took effect (the sale itself was the first look at
the client's cover). ``review.py`` computes what a review shows; this module records that it was
held and what it found.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Interval,
    Select,
    Uuid,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.pagination import Page, page_of, read_cursor
from crmkit.scope import SCOPE_PARAMETER, Reach, owner_scope, reach, reach_predicate, scope_parameter
from services.policies import review_clock, trail
from services.policies.errors import InvalidField
from services.policies.evidence import ensure_order
from services.policies.models import Policy, PolicyReviewRecord
from services.policies.peers import ClientDirectory
from services.policies.repository import status_is, visible_to
from services.policies.schemas import AnnualReviewCreate, AnnualReviewRead, RecordedFinding, ReviewDue
from services.policies.terms import add_years
from services.policies.tools import Tools

RESOURCE = "policy_review"
REVIEWED_POLICIES = ("receipt_signed", "return_visit_done", "in_force")
"""Policies that make a client due for a review: cover the agency sold and the client kept."""
ONE_YEAR = literal_column("interval '1 year'", type_=Interval)


def to_read(record: PolicyReviewRecord) -> AnnualReviewRead:
    return AnnualReviewRead(
        id=record.id,
        client_id=record.client_id,
        reviewed_on=record.reviewed_on,
        findings=[RecordedFinding.model_validate(f) for f in record.findings],
        note=record.note,
        next_review_due_on=add_years(record.reviewed_on, 1),
        recorded_by=record.recorded_by,
        owner_agent_id=record.owner_agent_id,
        team_id=record.team_id,
        created_at=record.created_at,
    )


async def _check_policies(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, findings: list[RecordedFinding]
) -> None:
    """A finding that names a policy names one of this client's (422 otherwise)."""
    named = {f.policy_id for f in findings if f.policy_id is not None}
    if not named:
        return
    stmt = select(col(Policy.id)).where(
        col(Policy.id).in_(named), col(Policy.client_id) == client_id, visible_to(Policy, principal)
    )
    found = set((await session.execute(stmt)).scalars())
    for index, finding in enumerate(findings):
        if finding.policy_id is not None and finding.policy_id not in found:
            raise InvalidField(f"findings.{index}.policy_id", "no such policy of this client")


async def record_review(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    directory: ClientDirectory,
    client_id: uuid.UUID,
    data: AnnualReviewCreate,
) -> PolicyReviewRecord:
    """Record a review held with a client the caller can see; it restarts the client's 12 months."""
    client = await directory.client(client_id)
    ensure_order("reviewed_on", data.reviewed_on, after=[], today=tools.clock.today())
    await _check_policies(session, principal, client.id, data.findings)
    record = PolicyReviewRecord(
        client_id=client.id,
        owner_agent_id=client.owner_agent_id,
        team_id=client.team_id,
        reviewed_on=data.reviewed_on,
        findings=[f.model_dump(mode="json") for f in data.findings],
        note=data.note,
        recorded_by=principal.actor,
        created_at=utc_now(),
    )
    session.add(record)
    await session.flush()
    await review_clock.restart(session, client.id)
    after: dict[str, Any] = {
        "client_id": str(client.id),
        "owner_agent_id": str(client.owner_agent_id),
        "team_id": str(client.team_id) if client.team_id else None,
        "reviewed_on": data.reviewed_on.isoformat(),
        "findings": sorted({f.kind.value for f in data.findings}),
    }
    await trail.record(
        session,
        principal=principal,
        action="policy_review.recorded",
        resource_type=RESOURCE,
        resource_id=record.id,
        after=after,
    )
    return record


async def reviews_of(
    *, session: AsyncSession, principal: Principal, client_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AnnualReviewRead]:
    """A client's recorded reviews in the caller's scope, latest first."""
    r = PolicyReviewRecord
    conditions = [
        col(r.client_id) == client_id,
        owner_scope(principal, owner=col(r.owner_agent_id), team=col(r.team_id)),
    ]
    after = read_cursor(cursor, date, uuid.UUID)
    if after is not None:
        conditions.append(tuple_(col(r.reviewed_on), col(r.id)) < tuple_(*after))
    stmt = select(r).where(*conditions).order_by(col(r.reviewed_on).desc(), col(r.id).desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    return page_of(rows, limit, key=lambda x: (x.reviewed_on, x.id), view=to_read)


@functools.lru_cache(maxsize=64)
def _reviews_due_statement(kind: Reach, paged: bool, limit: int) -> Select[Any]:
    """The due list's statement for one reach, built once: its aliases and correlated subqueries
    took a third of the agenda's CPU in the policies service when built per request (issue 22).
    Run with ``today``, ``horizon``, ``scope_id`` and, when ``paged``, ``after_due``/``after_client``."""
    policies_table = Policy.__table__  # type: ignore[attr-defined]
    p, other = policies_table.alias("p").c, policies_table.alias("other").c
    today, horizon = bindparam("today", type_=Date), bindparam("horizon", type_=Date)

    def due_on(policy: Any) -> ColumnElement[date]:
        return cast(func.coalesce(policy.client_reviewed_on, policy.effective_on) + ONE_YEAR, Date)

    def in_force_by_today(policy: Any) -> list[ColumnElement[bool]]:
        return [status_is(policy.status, *REVIEWED_POLICIES), policy.effective_on <= today]

    def same_group(policy: Any, group: Any) -> list[ColumnElement[bool]]:
        return [
            policy.client_id == group.client_id,
            policy.owner_agent_id == group.owner_agent_id,  # the distribution key (docs/scaling.md)
            policy.team_id.is_not_distinct_from(group.team_id),
            *in_force_by_today(policy),
        ]

    earlier = select(other.id).where(
        *same_group(other, p), tuple_(due_on(other), other.id) < tuple_(due_on(p), p.id)
    )
    conditions = [
        *in_force_by_today(p),
        reach_predicate(kind, owner=p.owner_agent_id, team=p.team_id, value=scope_parameter()),
        due_on(p) <= horizon,
        ~earlier.exists(),
    ]
    if paged:
        after = (bindparam("after_due", type_=Date), bindparam("after_client", type_=Uuid()))
        conditions.append(tuple_(due_on(p), p.client_id) > tuple_(*after))
    first = (
        select(
            p.client_id,
            p.owner_agent_id,
            p.team_id,
            p.client_reviewed_on.label("last_reviewed_on"),
            due_on(p).label("due_on"),
        )
        .where(*conditions)
        .order_by(due_on(p), p.client_id)
        .limit(limit + 1)
        .subquery("first")
    )
    policies = select(func.count()).where(*same_group(other, first.c)).scalar_subquery()
    return select(first, policies.label("policies")).order_by(first.c.due_on, first.c.client_id)


async def reviews_due(
    *,
    session: AsyncSession,
    principal: Principal,
    today: date,
    within_days: int,
    limit: int,
    cursor: str | None,
) -> Page[ReviewDue]:
    """Clients whose annual review is due by today + N (overdue ones first), in the caller's scope.

    One row per client, owner and team among the live policies effective by today. Each such policy
    carries its own review date (``REVIEW_DUE_ON``: a year after the client's last review, else after
    it took effect), so a group's due date is its policies' earliest: the query walks the live
    policies in that order (a partial index per scope) and keeps each group's first policy, the one
    no other policy of the group precedes. A page reads about ``limit`` groups' policies, whatever
    the size of the book."""
    kind, scope_id = reach(principal)
    after = read_cursor(cursor, date, uuid.UUID)
    parameters: dict[str, Any] = {
        "today": today,
        "horizon": today + timedelta(days=within_days),
        SCOPE_PARAMETER: scope_id,
        "after_due": after[0] if after else None,
        "after_client": after[1] if after else None,
    }
    stmt = _reviews_due_statement(kind, after is not None, limit)
    rows = list((await session.execute(stmt, parameters)).all())
    return page_of(
        rows,
        limit,
        key=lambda row: (row.due_on, row.client_id),
        view=lambda row: ReviewDue(
            client_id=row.client_id,
            policies_in_force=row.policies,
            last_reviewed_on=row.last_reviewed_on,
            due_on=row.due_on,
            overdue=row.due_on < today,
            owner_agent_id=row.owner_agent_id,
            team_id=row.team_id,
        ),
    )


async def reviews_held(*, session: AsyncSession, principal: Principal, first: date, last: date) -> int:
    """Reviews held in the period (basis ``reviewed_on``), for the business report."""
    r = PolicyReviewRecord
    stmt = select(func.count()).where(
        owner_scope(principal, owner=col(r.owner_agent_id), team=col(r.team_id)),
        col(r.reviewed_on).between(first, last),
    )
    return int((await session.execute(stmt)).scalar_one())
