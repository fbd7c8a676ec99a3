"""Request and response shapes of policies after issue."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StrictBool, StringConstraints

from crmkit.clock import IsoDate
from crmkit.money import MoneyOrZero, MoneyRead
from crmkit.pagination import Page
from services.policies.terms import Category, Kind, Wall

PolicyNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{4,40}$")]


class PolicyStatus(StrEnum):
    ISSUED = "issued"
    RECEIPT_SIGNED = "receipt_signed"
    RETURN_VISIT_DONE = "return_visit_done"
    IN_FORCE = "in_force"
    CANCELLED = "cancelled"
    SURRENDERED = "surrendered"


class PremiumStatus(StrEnum):
    PAID = "paid"
    DUE = "due"
    OVERDUE = "overdue"
    VOID = "void"


class IssueCreate(BaseModel):
    """The insurer issued the policy: its number and dates."""

    model_config = ConfigDict(extra="forbid")

    policy_number: PolicyNumber
    issued_on: IsoDate
    effective_on: IsoDate


class ReceiptCreate(BaseModel):
    """The client signed the policy receipt (回执); its date starts the cooling-off period."""

    model_config = ConfigDict(extra="forbid")

    signed_on: IsoDate


class ReturnVisitCreate(BaseModel):
    """The insurer's return-visit call (回访) and the client's answers."""

    model_config = ConfigDict(extra="forbid")

    visited_on: IsoDate
    understood_cover: StrictBool
    signed_personally: StrictBool


class CancellationCreate(BaseModel):
    """Cancellation within the cooling-off period: the premiums paid are refunded in full."""

    model_config = ConfigDict(extra="forbid")

    requested_on: IsoDate


class SurrenderCreate(BaseModel):
    """Surrender after the cooling-off period, for the policy's cash value."""

    model_config = ConfigDict(extra="forbid")

    requested_on: IsoDate
    surrender_value: MoneyOrZero


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paid_on: IsoDate


class WallCover(BaseModel):
    wall: Wall
    sum_insured: MoneyRead


class PremiumRead(BaseModel):
    id: uuid.UUID
    instalment: int
    due_on: IsoDate
    amount: MoneyRead
    status: PremiumStatus
    paid_on: IsoDate | None


class ReturnVisitRead(BaseModel):
    visited_on: IsoDate
    understood_cover: bool
    signed_personally: bool


class PolicyRead(BaseModel):
    id: uuid.UUID
    policy_number: str
    insurer: str
    product_id: uuid.UUID
    product_name: str
    category: Category
    kind: Kind
    client_id: uuid.UUID
    insured_member_id: uuid.UUID | None
    insured_name: str
    application_id: uuid.UUID
    status: PolicyStatus
    allowed_next_states: list[str]
    issued_on: IsoDate
    effective_on: IsoDate
    receipt_signed_on: IsoDate | None
    cooling_off_ends_on: IsoDate | None
    return_visit: ReturnVisitRead | None
    in_force_on: IsoDate | None
    ended_on: IsoDate | None
    sum_insured: MoneyRead
    annual_premium: MoneyRead
    payment_years: int
    walls: list[WallCover]
    premiums: list[PremiumRead]
    next_premium_due_on: IsoDate | None
    refund_amount: MoneyRead | None
    surrender_value: Decimal | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class PolicySummary(BaseModel):
    id: uuid.UUID
    policy_number: str
    insurer: str
    product_id: uuid.UUID
    product_name: str
    category: Category
    client_id: uuid.UUID
    insured_member_id: uuid.UUID | None
    insured_name: str
    status: PolicyStatus
    effective_on: IsoDate
    ended_on: IsoDate | None
    cooling_off_ends_on: IsoDate | None
    sum_insured: MoneyRead
    annual_premium: MoneyRead
    payment_years: int
    walls: list[WallCover]
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime


class InForceRead(BaseModel):
    policy_id: uuid.UUID
    on: IsoDate
    in_force: bool
    reason: str | None


PolicyPage = Page[PolicySummary]
