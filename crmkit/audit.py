"""Audit trail: who, when, what, before → after (personal fields already masked), request id."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert
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
    along: Along | None = None,
) -> None:
    """Written in the caller's transaction: the audit row commits or rolls back with the change.

    Pass masked, JSON-ready representations (the public schema's ``model_dump(mode="json")``).
    ``along``: the change itself, an INSERT written in the same statement (one round trip, not
    two; see ``Along``).
    """
    values = {
        "actor": principal.actor,
        "actor_role": principal.role.value,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "before": before,
        "after": after,
        "request_id": request_id_var.get(),
    }
    if along is None:
        await session.execute(_insert(table), values)
        return
    parameters = {f"{_AUDIT}{name}": value for name, value in values.items()}
    parameters.update(along.parameters)
    await session.execute(_insert_along(table, along.change), parameters)


class Along:
    """A change written with its audit row in one statement: ``change`` is a built-once INSERT
    whose placeholders (``bindparam``) are named apart from the audit row's (which start with
    ``audit_``), run as ``WITH change AS (INSERT ...) INSERT INTO audit_log ...`` with
    ``parameters``. PostgreSQL runs a data-modifying ``WITH`` to completion whether or not the
    outer statement reads it, and both rows share the transaction (and its ``txid``)."""

    __slots__ = ("change", "parameters")

    def __init__(self, change: Insert, parameters: dict[str, Any]) -> None:
        if any(name.startswith(_AUDIT) for name in parameters):
            raise ValueError(f"a change's parameters must not start with {_AUDIT!r}")
        self.change = change
        self.parameters = parameters


_AUDIT = "audit_"
_COLUMNS = ("actor", "actor_role", "action", "resource_type", "resource_id", "before", "after", "request_id")


@functools.cache
def _insert(table: Table) -> Insert:
    """The audit row's INSERT, built once per table (run with the row's values as parameters)."""
    return insert(table)


@functools.cache
def _insert_along(table: Table, change: Insert) -> Insert:
    """The audit row's INSERT with ``change`` as a data-modifying ``WITH``, built once per pair."""
    values = {name: bindparam(f"{_AUDIT}{name}", type_=table.c[name].type) for name in _COLUMNS}
    return insert(table).values(values).add_cte(change.cte("change"))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, so the trail reads as a diff."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
