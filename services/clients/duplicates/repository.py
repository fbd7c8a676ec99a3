"""The duplicate-pair query: indexed self-joins of a bounded window of the caller's live clients.

A page never reads the whole book. It looks at the next ``SCAN_WINDOW`` of the caller's clients in
id order (up to ``MAX_WINDOWS`` windows while the page is not full), and each of them finds its
partners by index: the keyed hash of the identity document, of the phone, and for similar names the
blocking keys ``(birth_date, first letter of name_key)`` and ``(birth_date, last letter)``. Two names
one edit apart share one of them (an edit anywhere but the start keeps the first letter, one at the
start keeps the last), except two one-letter names, which are never called similar. So a page may
hold fewer pairs than asked, even none, and still carry ``next_cursor``: the scan goes on from there.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal, Role

NO_ID = uuid.UUID(int=0)
LAST_ID = uuid.UUID(int=2**128 - 1)
SCAN_WINDOW = 1000
"""Clients looked at per window (each costs a handful of index probes)."""
MAX_WINDOWS = 5
"""Windows per page at most: a page of an admin's million clients costs what one of an agent's does."""

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

# The window's clients, then their partners by index. A pair found through both name blocking keys
# (same first and last letter) is one row after the GROUP BY.
_PAIRS = """
WITH mine AS MATERIALIZED (
    SELECT a.id, a.resident_id_hmac, a.phone_hmac, a.birth_date, a.name_key
    FROM clients.clients a
    WHERE a.deleted_at IS NULL AND {scope_a} AND a.id >= :after_first AND a.id <= :scan_to
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
    FROM mine m JOIN clients.clients b
      ON b.birth_date = m.birth_date AND left(b.name_key, 1) = left(m.name_key, 1)
    WHERE m.birth_date IS NOT NULL AND b.deleted_at IS NULL AND b.birth_date IS NOT NULL
      AND b.id > m.id AND {scope_b} AND {one_edit}
    UNION ALL
    SELECT m.id, b.id, 'similar_name_same_birth_date'
    FROM mine m JOIN clients.clients b
      ON b.birth_date = m.birth_date AND right(b.name_key, 1) = right(m.name_key, 1)
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

# The last client of a window: the SCAN_WINDOW-th of the caller's live clients from the position on
# (none when fewer are left: the window then runs to the end).
_WINDOW_END = """
SELECT a.id FROM clients.clients a
WHERE a.deleted_at IS NULL AND {scope_a} AND a.id >= :after_first
ORDER BY a.id
OFFSET :window LIMIT 1
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


def window_statement(principal: Principal) -> str:
    """The SQL of the id that ends a window (exposed for EXPLAIN)."""
    return _WINDOW_END.format(scope_a=_scope("a", principal))


def pairs_statement(principal: Principal) -> str:
    """The SQL of one window's pairs (exposed for EXPLAIN)."""
    return _PAIRS.format(
        scope_a=_scope("a", principal), scope_b=_scope("b", principal), one_edit=_ONE_EDIT_APART
    )


def pairs_parameters(
    principal: Principal,
    *,
    after: tuple[uuid.UUID, uuid.UUID] | None,
    limit: int,
    scan_to: uuid.UUID = LAST_ID,
) -> dict[str, Any]:
    first, second = after or (NO_ID, NO_ID)
    return {
        "after_first": first,
        "after_second": second,
        "scan_to": scan_to,
        "window": SCAN_WINDOW - 1,
        "limit": limit,
        "scope_team": principal.team_id,
        "scope_user": principal.user_id,
    }


def _used(statement: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if f":{k}" in statement}


async def duplicate_pairs(
    *, session: AsyncSession, principal: Principal, after: tuple[uuid.UUID, uuid.UUID] | None, limit: int
) -> tuple[list[tuple[uuid.UUID, uuid.UUID, list[str]]], tuple[uuid.UUID, uuid.UUID] | None]:
    """Up to ``limit`` pairs ``(first, second, reasons)`` with ``first < second``, in id order after
    ``after``, from at most ``MAX_WINDOWS`` windows; and, when the windows ran out before the end
    of the caller's clients with fewer pairs than ``limit``, where the next page goes on from."""
    found: list[tuple[uuid.UUID, uuid.UUID, list[str]]] = []
    position = after
    window, statement = window_statement(principal), pairs_statement(principal)
    for _ in range(MAX_WINDOWS):
        params = pairs_parameters(principal, after=position, limit=limit - len(found))
        end = (await session.execute(text(window), _used(window, params))).scalar_one_or_none()
        params["scan_to"] = end or LAST_ID
        rows = await session.execute(text(statement), _used(statement, params))
        found += [(row.first_id, row.second_id, list(row.reasons)) for row in rows]
        if len(found) >= limit or end is None:
            return found, None
        # Every pair whose first client is in this window is in ``found``: on after its last client.
        position = (end, LAST_ID)
    return found, position
