"""The policies service's feeds: events for the gateway, changes for offline sync (crmkit/changes.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.changes import FeedResource, Loaded, feed_routers, was_owned_by
from services.policies.applications import service as applications
from services.policies.dependencies import get_tools
from services.policies.issued import service as issued
from services.policies.models import Application, Policy, PremiumDue, UnderwritingRequirement, infra_tables
from services.policies.repository import visible_to


async def load_applications(
    *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> Loaded:
    """Applications in the caller's scope as ``GET /applications/{id}`` shows them."""
    stmt = select(Application).where(col(Application.id).in_(ids), visible_to(Application, principal))
    found = list((await session.execute(stmt)).scalars())
    requirements: dict[uuid.UUID, list[UnderwritingRequirement]] = defaultdict(list)
    if found:
        of_them = (
            select(UnderwritingRequirement)
            .where(col(UnderwritingRequirement.application_id).in_([a.id for a in found]))
            .order_by(col(UnderwritingRequirement.created_at), col(UnderwritingRequirement.id))
        )
        for requirement in (await session.execute(of_them)).scalars():
            requirements[requirement.application_id].append(requirement)
    return {a.id: applications.to_read(a, requirements[a.id]).model_dump(mode="json") for a in found}


async def load_policies(
    *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> Loaded:
    """Policies in the caller's scope as ``GET /policies/{id}`` shows them."""
    today = (await get_tools(request)).clock.today()
    stmt = select(Policy).where(col(Policy.id).in_(ids), visible_to(Policy, principal))
    found = list((await session.execute(stmt)).scalars())
    premiums: dict[uuid.UUID, list[PremiumDue]] = defaultdict(list)
    if found:
        of_them = (
            select(PremiumDue)
            .where(col(PremiumDue.policy_id).in_([p.id for p in found]))
            .order_by(col(PremiumDue.instalment))
        )
        for due in (await session.execute(of_them)).scalars():
            premiums[due.policy_id].append(due)
    return {p.id: issued.to_read(p, premiums[p.id], today).model_dump(mode="json") for p in found}


RESOURCES = {
    "application": FeedResource(
        load=load_applications, created_by=frozenset({"application.created"}), was_in_scope=was_owned_by
    ),
    "policy": FeedResource(
        load=load_policies, created_by=frozenset({"policy.issued"}), was_in_scope=was_owned_by
    ),
}

routers = feed_routers(
    service="policies", audit_log=infra_tables.audit_log, resources=RESOURCES, scope="policies:read"
)
