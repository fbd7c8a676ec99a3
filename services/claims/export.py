"""CSV export of the caller's claims: scoped, bank accounts masked, streamed in keyset batches."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.auth import Principal, Role, require_roles
from crmkit.problems import PROBLEM_RESPONSES
from services.claims.dependencies import ReaderDep
from services.claims.models import Claim
from services.claims.repository import visible_to

BATCH_ROWS = 1000
UTF8_BOM = "\ufeff"
COLUMNS = (
    "id", "policy_id", "policy_number", "insurer", "product_name", "client_id", "claim_type",
    "incident_date", "reported_on", "claimed_amount", "claimant_name", "claimant_relationship",
    "bank_name", "bank_account_masked", "status", "submitted_on", "decision_due_on", "decided_on",
    "approved_amount", "paid_amount", "paid_on", "last_client_update_at", "owner_agent_id", "created_at",
)  # fmt: skip

router = APIRouter(
    prefix="/api/v1/claims",
    tags=["exports"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


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


async def stream_claims(
    *, sessions: async_sessionmaker[AsyncSession], principal: Principal
) -> AsyncIterator[bytes]:
    """Header, then the scope's claims newest first, one keyset batch per short session."""
    yield UTF8_BOM.encode() + _lines([COLUMNS])
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = select(Claim).where(visible_to(principal))
        if after is not None:
            stmt = stmt.where(
                tuple_(col(Claim.created_at), col(Claim.id)) < tuple_(literal(after[0]), literal(after[1]))
            )
        stmt = stmt.order_by(col(Claim.created_at).desc(), col(Claim.id).desc()).limit(BATCH_ROWS)
        async with sessions() as session:
            batch = list((await session.execute(stmt)).scalars())
        if batch:
            yield _lines([[_cell(getattr(c, name)) for name in COLUMNS] for c in batch])
        if len(batch) < BATCH_ROWS:
            return
        after = (batch[-1].created_at, batch[-1].id)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV (with BOM), one claim a row."}},
)
async def export_claims(request: Request, principal: ReaderDep) -> StreamingResponse:
    """Your claims as CSV (bank accounts masked)."""
    return StreamingResponse(
        stream_claims(sessions=request.app.state.read_sessions, principal=principal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="claims.csv"', "Cache-Control": "no-store"},
    )
