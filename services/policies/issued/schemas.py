"""Request and response shapes of policies after issue."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from crmkit.clock import IsoDate
from crmkit.money import Money, MoneyOrZero, MoneyRead
from crmkit.pagination import Page
from services.policies.terms import Category, CoverageTerm, Kind, PremiumMode, Wall

PolicyNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{4,40}$")]


class PolicyStatus(StrEnum):
    ISSUED = "issued"
    RECEIPT_SIGNED = "receipt_signed"
    RETURN_VISIT_DONE = "return_visit_done"
    IN_FORCE = "in_force"
    CANCELLED = "cancelled"
    SURRENDERED = "surrendered"
    LAPSED = "lapsed"
    """中止: a premium unpaid past the grace period (保险法 §36); reinstatement possible for 2 years."""
    EXPIRED = "expired"
    """The term ended (renewed or not: a renewal is a new policy linked to this one)."""
    TERMINATED = "terminated"
    """Lapsed for 2 years without reinstatement (保险法 §37)."""


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    BANK_DEBIT = "bank_debit"
    CARD = "card"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"
    CASH = "cash"


PaymentReference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PaymentPurpose(StrEnum):
    FIRST_PREMIUM = "first_premium"
    INSTALMENT = "instalment"
    ARREARS = "arrears"
    RENEWAL = "renewal"


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
    """Money that arrived: the amount, the day it arrived, how, and the insurer's or bank's reference."""

    model_config = ConfigDict(extra="forbid")

    amount: Money
    paid_on: IsoDate = Field(description="The day the money arrived; not in the future.")
    method: PaymentMethod
    reference: PaymentReference = Field(description="The receipt or transaction number.")


class PaymentRead(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    policy_id: uuid.UUID | None
    premium_due_ids: list[uuid.UUID]
    purpose: PaymentPurpose
    amount: MoneyRead
    paid_on: IsoDate
    method: PaymentMethod
    reference: str
    created_at: datetime


class HealthAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    answer: StrictBool


class ReinstatementOpinion(StrEnum):
    STANDARD = "standard"
    EXCLUSION = "exclusion"
    LOADING = "loading"


class ReinstatementCreate(BaseModel):
    """复效 (保险法 §37): within 2 years of the lapse, a new health disclosure, the insurer's
    pre-underwriting opinion, and every instalment due so far paid (the arrears)."""

    model_config = ConfigDict(extra="forbid")

    requested_on: IsoDate
    health_disclosure: list[HealthAnswer] = Field(min_length=1, max_length=50)
    pre_underwriting_opinion: ReinstatementOpinion = Field(
        description="The insurer's opinion on the new disclosure (declined or postponed: no reinstatement)."
    )
    arrears: PaymentCreate = Field(description="The payment of every instalment due so far.")


class RenewalDecision(StrEnum):
    RENEW = "renew"
    CHANGE = "change"
    DECLINE = "decline"


class RenewalCreate(BaseModel):
    """The client's decision on a one-year term ending: renew as is, renew with changes, or decline."""

    model_config = ConfigDict(extra="forbid")

    decision: RenewalDecision
    policy_number: PolicyNumber | None = Field(
        default=None, description="The new term's number (renew and change); the insurer's own."
    )
    sum_insured: Money | None = Field(default=None, description="change only")
    annual_premium: Money | None = Field(default=None, description="renew and change: the new term's premium")


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


class LapseRead(BaseModel):
    """One lapse: no cover from ``lapsed_on`` to the day before ``ended_on`` (reinstated or ended)."""

    lapsed_on: IsoDate
    ended_on: IsoDate | None


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
    surrender_value: MoneyRead | None
    coverage_term: CoverageTerm
    premium_mode: PremiumMode
    grace_days: int
    waiting_days: int
    waiting_ends_on: IsoDate | None
    expires_on: IsoDate | None = Field(description="The first day not covered; null for whole life.")
    renewable: bool
    lapsed_on: IsoDate | None
    lapses: list[LapseRead]
    reinstated_on: IsoDate | None
    renewed_from_id: uuid.UUID | None
    renewed_to_id: uuid.UUID | None
    renewal_decision: RenewalDecision | None
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
    expires_on: IsoDate | None
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
    in_waiting_period: bool = Field(
        description="Covered, but inside the product's waiting period (等待期): the insurer decides."
    )
    waiting_ends_on: IsoDate | None


PolicyPage = Page[PolicySummary]
