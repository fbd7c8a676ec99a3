"""The clients service's compliance evidence for a period (manual 六): complaints of misleading
sales and consents withdrawn, each under the client's owner agent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import BusinessClock
from services.clients.complaints.schemas import ComplaintCategory
from services.clients.compliance.schemas import (
    ClientsComplianceFindings,
    ConsentWithdrawalRead,
    MisleadingComplaint,
)
from services.clients.models import Client, Complaint, Consent
from services.clients.repository import live_and_visible


async def findings(
    *, session: AsyncSession, principal: Principal, clock: BusinessClock, first: date, last: date
) -> ClientsComplianceFindings:
    start, end = clock.start_of(first), clock.start_of(date.fromordinal(last.toordinal() + 1))
    complaints = (
        select(Complaint, col(Client.owner_agent_id))
        .join(Client, col(Client.id) == col(Complaint.client_id))
        .where(
            col(Complaint.category) == ComplaintCategory.MISLEADING_SALES.value,
            col(Complaint.received_at) >= start,
            col(Complaint.received_at) < end,
            *live_and_visible(principal),
        )
        .order_by(col(Complaint.received_at), col(Complaint.id))
    )
    other = aliased(Consent)
    still = (
        select(col(other.id))
        .where(
            col(other.client_id) == col(Consent.client_id),
            col(other.purpose) == col(Consent.purpose),
            col(other.withdrawn_at).is_(None),
        )
        .exists()
    )
    withdrawals = (
        select(Consent, col(Client.owner_agent_id), still)
        .join(Client, col(Client.id) == col(Consent.client_id))
        .where(
            col(Consent.withdrawn_at) >= start,
            col(Consent.withdrawn_at) < end,
            *live_and_visible(principal),
        )
        .order_by(col(Consent.withdrawn_at), col(Consent.id))
    )
    return ClientsComplianceFindings(
        from_date=first,
        to_date=last,
        misleading_sales_complaints=[
            MisleadingComplaint(
                complaint_id=c.id,
                client_id=c.client_id,
                owner_agent_id=owner,
                policy_id=c.policy_id,
                received_at=c.received_at,
                status=c.status,
                compliance_findings=list(c.compliance_findings),
            )
            for c, owner in (await session.execute(complaints)).all()
        ],
        consent_withdrawals=[
            ConsentWithdrawalRead(
                consent_id=c.id,
                client_id=c.client_id,
                owner_agent_id=owner,
                purpose=c.purpose,
                withdrawn_at=c.withdrawn_at,
                still_consented=bool(active),
            )
            for c, owner, active in (await session.execute(withdrawals)).all()
            if c.withdrawn_at is not None
        ],
    )
