"""The claims service's feeds: events for the gateway, changes for offline sync (crmkit/changes.py)."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.changes import FeedResource, Loaded, feed_routers, was_owned_by
from services.claims.dependencies import get_tools
from services.claims.models import Claim, infra_tables
from services.claims.repository import visible_to
from services.claims.views import to_read


async def load_claims(
    *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> Loaded:
    """Claims in the caller's scope as ``GET /claims/{id}`` shows them (masked bank account)."""
    tools = await get_tools(request)
    stmt = select(Claim).where(col(Claim.id).in_(ids), visible_to(principal))
    return {c.id: to_read(c, tools).model_dump(mode="json") for c in (await session.execute(stmt)).scalars()}


RESOURCES = {
    "claim": FeedResource(
        load=load_claims, created_by=frozenset({"claim.reported"}), was_in_scope=was_owned_by
    )
}

routers = feed_routers(
    service="claims", audit_log=infra_tables.audit_log, resources=RESOURCES, scope="claims:read"
)
