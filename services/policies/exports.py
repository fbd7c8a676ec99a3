"""CSV export of the caller's applications or policies: scoped, streamed in keyset batches.

Health disclosures and pre-underwriting notes are never exported; amounts are decimal strings and
text cells that a spreadsheet would run as a formula are neutralised (crmkit.csv).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import Principal
from crmkit.csv import document, lines
from services.policies.models import Application, Policy
from services.policies.repository import visible_to
from services.policies.schemas import ExportKind

BATCH_ROWS = 1000


APPLICATION_COLUMNS = (
    "id", "client_id", "insured_name", "insured_birth_date", "product_id", "status", "sum_insured",
    "annual_premium", "payment_years", "applied_on", "submitted_on", "decided_on", "decision_reference",
    "policy_id", "owner_agent_id", "created_at",
)  # fmt: skip
POLICY_COLUMNS = (
    "id", "policy_number", "insurer", "product_name", "category", "kind", "client_id", "insured_name",
    "status", "sum_insured", "annual_premium", "payment_years", "issued_on", "issue_reference",
    "effective_on", "receipt_signed_on", "cooling_off_ends_on", "in_force_on", "ended_on", "owner_agent_id",
    "created_at",
)  # fmt: skip


def _table(model: type[Application] | type[Policy]) -> Any:
    return getattr(model, "__table__")  # noqa: B009 - SQLModel does not declare it


async def stream_rows(
    *,
    sessions: async_sessionmaker[AsyncSession],
    table: Any,
    scope: ColumnElement[bool],
    columns: Sequence[str],
) -> AsyncIterator[bytes]:
    """Header, then the scope's rows newest first, one keyset batch per short session."""
    yield document(columns, [])
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = select(table).where(scope)
        if after is not None:
            stmt = stmt.where(
                tuple_(table.c.created_at, table.c.id) < tuple_(literal(after[0]), literal(after[1]))
            )
        stmt = stmt.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(BATCH_ROWS)
        async with sessions() as session:
            batch = list((await session.execute(stmt)).all())
        if batch:
            yield lines([getattr(r, c) for c in columns] for r in batch)
        if len(batch) < BATCH_ROWS:
            return
        after = (batch[-1].created_at, batch[-1].id)


def export_csv(
    *, sessions: async_sessionmaker[AsyncSession], principal: Principal, kind: ExportKind
) -> AsyncIterator[bytes]:
    """The caller's applications or policies as CSV chunks (health data never included)."""
    if kind is ExportKind.APPLICATIONS:
        return stream_rows(
            sessions=sessions,
            table=_table(Application),
            scope=visible_to(Application, principal),
            columns=APPLICATION_COLUMNS,
        )
    return stream_rows(
        sessions=sessions, table=_table(Policy), scope=visible_to(Policy, principal), columns=POLICY_COLUMNS
    )
