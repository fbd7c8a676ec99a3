"""The documents service's feeds: events for the gateway, changes for offline sync
(crmkit/changes.py). Both carry document metadata only, never the content or the file's name."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.changes import TOMBSTONE, FeedResource, Loaded, feed_routers
from crmkit.events import Publication
from crmkit.scope import owner_scope
from services.documents.models import Document, infra_tables
from services.documents.service import to_event


async def load_documents(
    *, request: Request, session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> Loaded:
    """Documents whose record was the caller's when uploaded (owner or team, as recorded then)."""
    scope = owner_scope(principal, owner=col(Document.owner_agent_id), team=col(Document.team_id))
    stmt = select(Document).where(col(Document.id).in_(ids), scope)
    return {
        d.id: TOMBSTONE if d.deleted_at is not None else to_event(d)
        for d in (await session.execute(stmt)).scalars()
    }


PUBLICATION = Publication(not_events=frozenset({"document.downloaded"}))
"""A download is audited (who, what, when) but is a read, not an event."""

RESOURCES = {"document": FeedResource(load=load_documents, created_by=frozenset({"document.uploaded"}))}

routers = feed_routers(
    service="documents",
    audit_log=infra_tables.audit_log,
    resources=RESOURCES,
    scope="documents:read",
    publication=PUBLICATION,
)
