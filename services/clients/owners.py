"""A client's owner and team, carried on the client's family members and milestones.

Those rows hold ``owner_agent_id`` and ``team_id`` so that an agent's or a team's upcoming
birthdays and events read their own index range without joining every row of the window to
``clients`` (milestones/upcoming.py), and so that they share the client's distribution key
(docs/scaling.md). Every write that sets or changes a client's owner keeps them equal, in the same
transaction: creating a member or milestone copies the client's (``of``), reassigning a client
moves its rows (``follow``), a merge moves the duplicate's rows to the survivor's owner.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from services.clients.models import Client, FamilyMember, Milestone

# The tables whose rows carry their client's owner and team.
CARRY_OWNER: tuple[type[SQLModel], ...] = (FamilyMember, Milestone)


def of(client: Client) -> dict[str, uuid.UUID | None]:
    """The columns a new row of ``CARRY_OWNER`` copies from its client."""
    return {"owner_agent_id": client.owner_agent_id, "team_id": client.team_id}


async def follow(*, session: AsyncSession, client: Client) -> None:
    """The client's rows in ``CARRY_OWNER`` take its (new) owner and team."""
    for model in CARRY_OWNER:
        table: Any = model
        await session.execute(
            update(model)
            .where(table.client_id == client.id)
            .values(**of(client))
            .execution_options(synchronize_session="fetch")
        )
