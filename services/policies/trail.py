"""The audit trail of this service (who, when, what, before → after); views are already masked."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from services.policies.models import infra_tables


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    diff: bool = True,
) -> None:
    """With ``diff``, only the fields that changed are kept on each side."""
    if diff and before is not None and after is not None:
        before, after = audit.changed_fields(before, after)
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
    )
