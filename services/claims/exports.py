"""CSV export of the caller's claims: scoped, bank accounts masked, formulas neutralised
(``crmkit.csv``), streamed in keyset batches. The route is in ``router.py``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import Principal
from crmkit.csv import UTF8_BOM, lines
from services.claims import repository

BATCH_ROWS = 1000
NO_FILTERS = repository.ClaimFilters()
FILENAME = "claims.csv"
COLUMNS = (
    "id", "policy_id", "policy_number", "insurer", "product_name", "client_id", "claim_type",
    "incident_date", "reported_on", "claimed_amount", "claimant_name", "claimant_relationship",
    "bank_name", "bank_account_masked", "status", "submitted_on", "decision_due_on", "decided_on",
    "decision_reference", "approved_amount", "paid_amount", "paid_on", "last_client_update_at",
    "owner_agent_id", "created_at",
)  # fmt: skip


async def stream_claims(
    *, sessions: async_sessionmaker[AsyncSession], principal: Principal
) -> AsyncIterator[bytes]:
    """The BOM and header, then the scope's claims newest first, one keyset batch per short session."""
    yield UTF8_BOM.encode() + lines([COLUMNS])
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with sessions() as session:
            batch = await repository.newest_first(
                session=session, principal=principal, filters=NO_FILTERS, after=after, rows=BATCH_ROWS
            )
        if batch:
            yield lines([getattr(claim, name) for name in COLUMNS] for claim in batch)
        if len(batch) < BATCH_ROWS:
            return
        after = (batch[-1].created_at, batch[-1].id)
