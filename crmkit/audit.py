"""Audit trail: who, when, what, before → after (personal fields already masked), request id."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import Insert, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from crmkit.context import request_id_var


async def record(
    session: AsyncSession,
    table: Table,
    *,
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Written in the caller's transaction: the audit row commits or rolls back with the change.

    Pass masked, JSON-ready representations (the public schema's ``model_dump(mode="json")``).
    """
    await session.execute(
        _insert(table),
        {
            "actor": principal.actor,
            "actor_role": principal.role.value,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "before": before,
            "after": after,
            "request_id": request_id_var.get(),
        },
    )


@functools.cache
def _insert(table: Table) -> Insert:
    """The audit row's INSERT, built once per table (run with the row's values as parameters)."""
    return insert(table)


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, so the trail reads as a diff."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
