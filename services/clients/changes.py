"""The clients service's feeds: events for the gateway, changes for offline sync (crmkit/changes.py)."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.changes import TOMBSTONE, FeedResource, Loaded, feed_routers, was_owned_by
from services.clients.models import Client, infra_tables
from services.clients.repository import visible_to
from services.clients.service import to_read


async def load_clients(
    *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> Loaded:
    """Clients in the caller's scope as ``GET /clients/{id}`` shows them; deleted ones as tombstones."""
    stmt = select(Client).where(col(Client.id).in_(ids), visible_to(principal))
    return {
        c.id: TOMBSTONE if c.deleted_at is not None else to_read(c).model_dump(mode="json")
        for c in (await session.execute(stmt)).scalars()
    }


RESOURCES = {
    "client": FeedResource(
        load=load_clients, created_by=frozenset({"client.created"}), was_in_scope=was_owned_by
    )
}

routers = feed_routers(
    service="clients", audit_log=infra_tables.audit_log, resources=RESOURCES, scope="clients:read"
)
