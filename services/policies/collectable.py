"""The collection list's flag on instalments, ``premium_dues.collectable``: true exactly while the
instalment's policy can still lapse (its status is one of ``LAPSABLE_STATES``).

A lapsed, terminated or ended policy keeps its overdue instalments ``due`` (a reinstatement collects
them as arrears), and they come first in due order: with the flag in the collection list's partial
indexes, the list never reads them. Every write that changes a policy's status calls ``sync`` in the
same transaction; a new schedule takes the flag from its policy (``issued.premiums``)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.policies.models import Policy, PremiumDue
from services.policies.transitions import LAPSABLE_STATES


def collectable(policy: Policy) -> bool:
    """Whether the policy's unpaid instalments belong in the collection list."""
    return policy.status in LAPSABLE_STATES


async def sync(session: AsyncSession, policy: Policy) -> None:
    """The policy's instalments take the flag of its current status (one UPDATE; rows already
    right are not rewritten)."""
    flag = collectable(policy)
    await session.execute(
        update(PremiumDue)
        .where(
            col(PremiumDue.policy_id) == policy.id,
            # The owners too: a co-located write on a distributed table (docs/scaling.md).
            col(PremiumDue.owner_agent_id) == policy.owner_agent_id,
            col(PremiumDue.collectable) != flag,
        )
        .values(collectable=flag)
    )
