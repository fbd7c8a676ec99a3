"""Shapes of the clients service's part of the compliance view."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel


class MisleadingComplaint(BaseModel):
    """A complaint the client made about misleading sales (销售误导), with its handling state."""

    complaint_id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    policy_id: uuid.UUID | None
    received_at: datetime
    status: str
    compliance_findings: list[str]


class ConsentWithdrawalRead(BaseModel):
    consent_id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    purpose: str
    withdrawn_at: datetime
    still_consented: bool
    """Another active consent to the same purpose remains (the gate stays open)."""


class ClientsComplianceFindings(BaseModel):
    """Misleading-sales complaints received and consents withdrawn in the period, in your scope."""

    from_date: date
    to_date: date
    misleading_sales_complaints: list[MisleadingComplaint]
    consent_withdrawals: list[ConsentWithdrawalRead]
