"""Shapes of the compliance reads: holds after a withdrawn consent and the findings of a period."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ConsentWithdrawn(BaseModel):
    """The clients service's notice that a client's consent to a purpose was withdrawn."""

    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID
    purpose: str = Field(min_length=1, max_length=30)


class HoldsRaised(BaseModel):
    held: int = Field(description="Open applications flagged by this withdrawal.")


class OverrideChoice(BaseModel):
    finding_code: str
    item_id: uuid.UUID | None
    reason: str
    channel: str
    recorded_by: str


class PlanOverride(BaseModel):
    """An accepted plan that kept a finding of the manual's checks by the client's informed choice."""

    proposal_id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    accepted_on: date
    revision: int
    choices: list[OverrideChoice]


class MissingTraceability(BaseModel):
    application_id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    status: str
    applied_on: date
    reasons: list[str]


class ConsentHoldRead(BaseModel):
    application_id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    purpose: str
    raised_at: datetime
    application_status: str


class ReturnVisitFinding(BaseModel):
    """A failed return visit (its compliance flag) or a missing one (cooling-off over, none passed)."""

    policy_id: uuid.UUID
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    outcome: str = Field(description="`failed` (a flag, with its reasons) or `missing`.")
    reasons: list[str]
    on: date
    open: bool


class PoliciesComplianceFindings(BaseModel):
    """The policies service's part of the compliance view, for a period, in the caller's scope."""

    from_date: date
    to_date: date
    overrides: list[PlanOverride]
    missing_traceability: list[MissingTraceability]
    consent_holds: list[ConsentHoldRead]
    return_visits: list[ReturnVisitFinding]
