"""Request and response shapes of proposals (方案设计) and their revisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from crmkit.money import Money, MoneyRead
from crmkit.pagination import Page
from services.policies.terms import Category, Kind, LongText, PaymentYears, ShortText, Wall


class Severity(StrEnum):
    BLOCKING = "blocking"
    """The revision cannot be accepted as it stands (e.g. an insured outside a product's ages)."""
    WARNING = "warning"
    """A rule of the manual is not followed; the agent explains or adjusts."""
    INFO = "info"


class Finding(BaseModel):
    """One check of the manual, reported with a code and a message rather than as a bare error."""

    code: str = Field(description="e.g. `protection_before_wealth`, `adults_before_children`.")
    severity: Severity
    message: str
    item_id: uuid.UUID | None = None


class ProposalItemIn(BaseModel):
    """One planned policy: who is insured, with what, for how much."""

    model_config = ConfigDict(extra="forbid")

    insured_member_id: uuid.UUID | None = Field(
        default=None, description="A family member of the client's household; omitted = the client."
    )
    product_id: uuid.UUID
    sum_insured: Money
    annual_premium: Money
    payment_years: PaymentYears


class ProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID = Field(description="The client whose household the plan is for (must be yours).")
    title: ShortText = "家庭保障方案"
    items: list[ProposalItemIn] = Field(min_length=1, max_length=20)


class ProposalRevise(BaseModel):
    """A new revision after the client's feedback (procedure step 5); the earlier ones are kept."""

    model_config = ConfigDict(extra="forbid")

    client_feedback: LongText
    items: list[ProposalItemIn] = Field(min_length=1, max_length=20)


class ProposalAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: StrictInt = Field(ge=1, description="The revision the client accepted.")


class ProposalDecline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: LongText


class ProposalItemRead(BaseModel):
    id: uuid.UUID
    insured_member_id: uuid.UUID | None
    insured_name: str
    insured_age: int | None
    product_id: uuid.UUID
    product_name: str
    insurer: str
    category: Category
    kind: Kind
    walls: list[Wall]
    sum_insured: MoneyRead
    annual_premium: MoneyRead
    payment_years: int


class RevisionRead(BaseModel):
    revision: int
    items: list[ProposalItemRead]
    findings: list[Finding]
    total_annual_premium: MoneyRead
    household_annual_income: Decimal | None
    client_feedback: str | None
    created_at: datetime


class ProposalSummary(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    title: str
    status: str
    latest_revision: int
    accepted_revision: int | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class ProposalRead(ProposalSummary):
    """A proposal with every revision, oldest first."""

    revisions: list[RevisionRead]


ProposalPage = Page[ProposalSummary]
