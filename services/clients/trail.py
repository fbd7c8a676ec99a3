"""The audit trail of the clients service: one row per change, in the request's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from services.clients.models import infra_tables


async def record_change(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    along: audit.Along | None = None,
) -> None:
    """An audit row in the request's transaction (values already masked and JSON-ready);
    ``along``: the change, written in the same statement."""
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
        along=along,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Changed fields only, bookkeeping left out."""
    old, new = audit.changed_fields(before, after)
    for bookkeeping in ("version", "updated_at"):
        old.pop(bookkeeping, None)
        new.pop(bookkeeping, None)
    return old, new
