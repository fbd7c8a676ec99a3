"""The collection list's flag on instalments, ``premium_dues.collectable``: true exactly while the
instalment's policy can still lapse (its status is one of ``LAPSABLE_STATES``).

A lapsed, terminated or ended policy keeps its overdue instalments ``due`` (a reinstatement collects
them as arrears), and they come first in due order: with the flag in the collection list's partial
indexes, the list never reads them. Every write that changes a policy's status calls ``sync`` in the
same transaction; a new schedule takes the flag from its policy (``issued.premiums``)."""

from __future__ import annotations

from sqlalchemy import ARRAY, Uuid, any_, literal, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.policies.models import Policy, PremiumDue
from services.policies.transitions import LAPSABLE_STATES


def collectable(policy: Policy) -> bool:
    """Whether the policy's unpaid instalments belong in the collection list."""
    return policy.status in LAPSABLE_STATES


async def sync(session: AsyncSession, *policies: Policy) -> None:
    """The policies' instalments take the flag of their current status: one UPDATE per flag value
    (the sweep passes every policy a step moved), rows already right are not rewritten."""
    for flag in (True, False):
        ids = [p.id for p in policies if collectable(p) is flag]
        if not ids:
            continue
        await session.execute(
            update(PremiumDue)
            .where(
                # One array parameter, however many policies a sweep step moved.
                col(PremiumDue.policy_id) == any_(literal(ids, ARRAY(Uuid))),
                col(PremiumDue.collectable) != flag,
            )
            .values(collectable=flag)
            # Nothing reads the flag from loaded instalments: the collection list reads the table.
            .execution_options(synchronize_session=False)
        )
