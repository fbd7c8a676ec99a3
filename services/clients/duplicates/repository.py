"""The duplicate-pair query: three indexed self-joins of the caller's live clients."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal, Role

NO_ID = uuid.UUID(int=0)

# Names one edit apart (a letter changed, added or dropped), in plain SQL: no extension needed.
# Dropping position i from both keys makes them equal exactly when they differ only there; dropping
# it from the longer one alone, when it was an insertion. (A constant series keeps the planner's
# estimate small: names are at most 100 characters.)
_ONE_EDIT_APART = """
    abs(length(b.name_key) - length(m.name_key)) <= 1
    AND (b.name_key = m.name_key OR EXISTS (
        SELECT 1 FROM generate_series(1, 100) AS i
        WHERE i <= length(b.name_key) + 1 AND ((length(m.name_key) = length(b.name_key)
               AND overlay(m.name_key placing '' from i for 1) = overlay(b.name_key placing '' from i for 1))
           OR (length(m.name_key) = length(b.name_key) + 1
               AND overlay(m.name_key placing '' from i for 1) = b.name_key)
           OR (length(b.name_key) = length(m.name_key) + 1
               AND overlay(b.name_key placing '' from i for 1) = m.name_key))
    ))
"""

_PAIRS = """
WITH mine AS MATERIALIZED (
    SELECT a.id, a.resident_id_hmac, a.phone_hmac, a.birth_date, a.name_key
    FROM clients.clients a
    WHERE a.deleted_at IS NULL AND {scope_a} AND a.id >= :after_first
),
pairs AS (
    SELECT m.id AS first_id, b.id AS second_id, 'same_resident_id' AS reason
    FROM mine m JOIN clients.clients b ON b.resident_id_hmac = m.resident_id_hmac
    WHERE m.resident_id_hmac IS NOT NULL AND b.deleted_at IS NULL AND b.id > m.id AND {scope_b}
    UNION ALL
    SELECT m.id, b.id, 'same_phone'
    FROM mine m JOIN clients.clients b ON b.phone_hmac = m.phone_hmac
    WHERE m.phone_hmac IS NOT NULL AND b.deleted_at IS NULL AND b.id > m.id AND {scope_b}
    UNION ALL
    SELECT m.id, b.id, 'similar_name_same_birth_date'
    FROM mine m JOIN clients.clients b ON b.birth_date = m.birth_date
    WHERE m.birth_date IS NOT NULL AND b.deleted_at IS NULL AND b.birth_date IS NOT NULL
      AND b.id > m.id AND {scope_b} AND {one_edit}
)
SELECT first_id, second_id, array_agg(DISTINCT reason ORDER BY reason) AS reasons
FROM pairs
WHERE first_id > :after_first OR (first_id = :after_first AND second_id > :after_second)
GROUP BY first_id, second_id
ORDER BY first_id, second_id
LIMIT :limit
"""


def _scope(alias: str, principal: Principal) -> str:
    """The same object-level scope as ``repository.visible_to``, for a table alias (fixed SQL)."""
    if principal.role is Role.ADMIN:
        return "TRUE"
    if principal.role is Role.TEAM_LEAD and principal.team_id is not None:
        return f"{alias}.team_id = :scope_team"
    if principal.role in (Role.AGENT, Role.TEAM_LEAD):
        return f"{alias}.owner_agent_id = :scope_user"
    return "FALSE"


def pairs_statement(principal: Principal) -> str:
    """The SQL of one page of pairs (exposed for EXPLAIN)."""
    return _PAIRS.format(
        scope_a=_scope("a", principal), scope_b=_scope("b", principal), one_edit=_ONE_EDIT_APART
    )


def pairs_parameters(
    principal: Principal, *, after: tuple[uuid.UUID, uuid.UUID] | None, limit: int
) -> dict[str, Any]:
    first, second = after or (NO_ID, NO_ID)
    return {
        "after_first": first,
        "after_second": second,
        "limit": limit,
        "scope_team": principal.team_id,
        "scope_user": principal.user_id,
    }


async def duplicate_pairs(
    *, session: AsyncSession, principal: Principal, after: tuple[uuid.UUID, uuid.UUID] | None, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID, list[str]]]:
    """Pairs ``(first, second, reasons)`` with ``first < second``, in id order after ``after``."""
    params = pairs_parameters(principal, after=after, limit=limit)
    used = {k: v for k, v in params.items() if f":{k}" in pairs_statement(principal)}
    rows = await session.execute(text(pairs_statement(principal)), used)
    return [(row.first_id, row.second_id, list(row.reasons)) for row in rows]
