"""The clients service's feeds: events for the gateway, changes for offline sync (crmkit/changes.py)."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.changes import TOMBSTONE, FeedResource, Loaded, feed_routers, was_owned_by
from crmkit.events import Publication
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


PUBLICATION = Publication(
    renamed={
        # A tier assessment is published as a change of the client it belongs to.
        ("tiering", "tiering.assessed"): ("client", "client.tier_changed"),
        ("tiering", "tiering.overridden"): ("client", "client.tier_changed"),
        ("tiering", "tiering.override_cleared"): ("client", "client.tier_changed"),
    },
    # An audited reveal records a read, not a change.
    not_events=frozenset({"client.identifier_revealed"}),
)

RESOURCES = {
    "client": FeedResource(
        load=load_clients, created_by=frozenset({"client.created"}), was_in_scope=was_owned_by
    )
}

routers = feed_routers(
    service="clients",
    audit_log=infra_tables.audit_log,
    resources=RESOURCES,
    scope="clients:read",
    publication=PUBLICATION,
)
