"""Each policy keeps its client's last annual review (``Policy.client_reviewed_on``), so the list of
reviews due walks one index in due order (``models.REVIEW_DUE_ON``) instead of grouping the book.

Kept on the two writes that change it: a review recorded (every policy of the client takes the
client's latest review date) and a policy issued or renewed (it starts with that date). Both take a
transaction-scoped advisory lock on the client first, so a review and an issue racing for the same
client cannot leave the new policy without the review: the second waits for the first to commit
and then reads what it wrote.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.policies.models import Policy, PolicyReviewRecord

LOCK_CLASS = 0x72657669  # "revi": the first half of the two-key advisory lock, per client below


async def _lock(session: AsyncSession, client_id: uuid.UUID) -> None:
    key = func.hashtext(str(client_id))
    await session.execute(select(func.pg_advisory_xact_lock(LOCK_CLASS, key)))


def _last_review(client_id: uuid.UUID) -> ScalarSelect[date]:
    return (
        select(func.max(col(PolicyReviewRecord.reviewed_on)))
        .where(col(PolicyReviewRecord.client_id) == client_id)
        .scalar_subquery()
    )


async def last_review_of(session: AsyncSession, client_id: uuid.UUID) -> date | None:
    """The client's latest review date, for a policy about to be inserted (locks the client)."""
    await _lock(session, client_id)
    found: date | None = (await session.execute(select(_last_review(client_id)))).scalar_one()
    return found


async def restart(session: AsyncSession, client_id: uuid.UUID) -> None:
    """After a review of the client was stored: every policy of the client takes its latest date."""
    await _lock(session, client_id)
    await session.execute(
        update(Policy)
        .where(col(Policy.client_id) == client_id)
        .values(client_reviewed_on=_last_review(client_id))
        .execution_options(synchronize_session=False)
    )
