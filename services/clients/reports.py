"""The clients part of the team lead's business report (procedure step 11), over a period.

New clients by acquisition channel and by tier, tier movements (from → to) recorded in the period,
and complaints received in the period by their current status, for the clients in the caller's scope.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from crmkit.periods import Count
from services.clients.models import Client, Complaint, TierChange
from services.clients.repository import visible_client_ids, visible_to
from services.clients.schemas import ClientsReport, TierMovement


def _between(column: Any, first: date, last: date, clock: BusinessClock) -> list[ColumnElement[bool]]:
    """``column`` within the business-local days ``first`` to ``last``, both included."""
    return [column >= clock.start_of(first), column < clock.start_of(last + timedelta(days=1))]


async def _new_clients_by_channel(session: AsyncSession, new: list[ColumnElement[bool]]) -> list[Count]:
    rows = await session.execute(
        select(col(Client.channel), func.count())
        .where(*new)
        .group_by(col(Client.channel))
        .order_by(col(Client.channel))
    )
    return [Count(key=str(k), count=int(n)) for k, n in rows.all()]


async def _new_clients_by_tier(session: AsyncSession, new: list[ColumnElement[bool]]) -> list[Count]:
    tier = func.coalesce(col(Client.tier), "unassessed")
    rows = await session.execute(select(tier, func.count()).where(*new).group_by(tier).order_by(tier))
    return [Count(key=str(k), count=int(n)) for k, n in rows.all()]


async def _tier_movements(
    session: AsyncSession, principal: Principal, period: list[ColumnElement[bool]]
) -> list[TierMovement]:
    rows = await session.execute(
        select(col(TierChange.from_tier), col(TierChange.to_tier), func.count())
        .where(col(TierChange.client_id).in_(visible_client_ids(principal)), *period)
        .group_by(col(TierChange.from_tier), col(TierChange.to_tier))
        .order_by(col(TierChange.from_tier), col(TierChange.to_tier))
    )
    return [TierMovement(from_tier=f, to_tier=t, count=int(n)) for f, t, n in rows.all()]


async def _complaints_by_status(
    session: AsyncSession, principal: Principal, period: list[ColumnElement[bool]]
) -> list[Count]:
    rows = await session.execute(
        select(col(Complaint.status), func.count())
        .where(col(Complaint.client_id).in_(visible_client_ids(principal)), *period)
        .group_by(col(Complaint.status))
        .order_by(col(Complaint.status))
    )
    return [Count(key=str(k), count=int(n)) for k, n in rows.all()]


async def business_report(
    *, session: AsyncSession, principal: Principal, clock: BusinessClock, first: date, last: date
) -> ClientsReport:
    """New clients by channel and tier, tier movements and complaints by status, in the caller's scope."""
    new = [
        col(Client.deleted_at).is_(None),
        visible_to(principal),
        *_between(col(Client.created_at), first, last, clock),
    ]
    channels = await _new_clients_by_channel(session, new)
    return ClientsReport(
        from_date=first,
        to_date=last,
        new_clients=sum(c.count for c in channels),
        new_clients_by_channel=channels,
        new_clients_by_tier=await _new_clients_by_tier(session, new),
        tier_movements=await _tier_movements(
            session, principal, _between(col(TierChange.created_at), first, last, clock)
        ),
        complaints_by_status=await _complaints_by_status(
            session, principal, _between(col(Complaint.received_at), first, last, clock)
        ),
    )
