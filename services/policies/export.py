"""CSV export of the caller's applications or policies: scoped, streamed in keyset batches.

Health disclosures and pre-underwriting notes are never exported; amounts are decimal strings.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import Role, require_roles
from crmkit.problems import PROBLEM_RESPONSES
from services.policies.dependencies import ReaderDep
from services.policies.models import Application, Policy
from services.policies.repository import visible_to

BATCH_ROWS = 1000
UTF8_BOM = "\ufeff"


class ExportKind(StrEnum):
    APPLICATIONS = "applications"
    POLICIES = "policies"


APPLICATION_COLUMNS = (
    "id", "client_id", "insured_name", "insured_birth_date", "product_id", "status", "sum_insured",
    "annual_premium", "payment_years", "submitted_on", "decided_on", "policy_id", "owner_agent_id",
    "created_at",
)  # fmt: skip
POLICY_COLUMNS = (
    "id", "policy_number", "insurer", "product_name", "category", "kind", "client_id", "insured_name",
    "status", "sum_insured", "annual_premium", "payment_years", "issued_on", "effective_on",
    "receipt_signed_on", "cooling_off_ends_on", "in_force_on", "ended_on", "owner_agent_id", "created_at",
)  # fmt: skip

router = APIRouter(
    prefix="/api/v1/policies",
    tags=["exports"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


def _table(model: type[Application] | type[Policy]) -> Any:
    return getattr(model, "__table__")  # noqa: B009 - SQLModel does not declare it


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _lines(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


async def stream_rows(
    *,
    sessions: async_sessionmaker[AsyncSession],
    table: Any,
    scope: ColumnElement[bool],
    columns: Sequence[str],
) -> AsyncIterator[bytes]:
    """Header, then the scope's rows newest first, one keyset batch per short session."""
    yield UTF8_BOM.encode() + _lines([columns])
    row_of: Callable[[Any], list[Any]] = lambda r: [_cell(getattr(r, c)) for c in columns]  # noqa: E731
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
            yield _lines([row_of(r) for r in batch])
        if len(batch) < BATCH_ROWS:
            return
        after = (batch[-1].created_at, batch[-1].id)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV (with BOM), one record a row."}},
)
async def export_policies(
    request: Request,
    principal: ReaderDep,
    kind: Annotated[ExportKind, Query(description="`applications` or `policies`.")],
) -> StreamingResponse:
    """Your applications or policies as CSV (health data never included)."""
    columns: Sequence[str]
    if kind is ExportKind.APPLICATIONS:
        table, scope, columns = _table(Application), visible_to(Application, principal), APPLICATION_COLUMNS
    else:
        table, scope, columns = _table(Policy), visible_to(Policy, principal), POLICY_COLUMNS
    return StreamingResponse(
        stream_rows(sessions=request.app.state.read_sessions, table=table, scope=scope, columns=columns),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{kind.value}.csv"',
            "Cache-Control": "no-store",
        },
    )
