"""Request and response shapes of policies after issue."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from crmkit.clock import IsoDate
from crmkit.money import Money, MoneyOrZero, MoneyRead
from crmkit.pagination import Page
from services.policies.evidence import InsurerReference
from services.policies.terms import Category, CoverageTerm, Kind, LongText, PremiumMode, Wall

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
    insurer_reference: InsurerReference
    issued_on: IsoDate = Field(
        description="The insurer's issue date: not before its decision, not in the future."
    )
    effective_on: IsoDate = Field(description="When cover starts (生效日), as the contract says.")


class ReceiptCreate(BaseModel):
    """The client signed the policy receipt (回执); its date starts the cooling-off period."""

    model_config = ConfigDict(extra="forbid")

    signed_on: IsoDate


class ReturnVisitCreate(BaseModel):
    """The insurer's return-visit call (回访) and the client's answers, recorded whatever they are.

    Reached: both answers are required. Unreached: no answers. It passes only when the client was
    reached, understood the cover and signed personally (manual 四.3, 六); anything else is a
    failed visit (a compliance flag and a redo on the agent's agenda)."""

    model_config = ConfigDict(extra="forbid")

    visited_on: IsoDate
    reached: StrictBool = Field(default=True, description="Whether the insurer reached the client.")
    understood_cover: StrictBool | None = Field(
        default=None, description="Required when reached: the client understood the cover and exclusions."
    )
    signed_personally: StrictBool | None = Field(
        default=None,
        description="Required when reached: the client signed the contract personally (no 代签).",
    )
    note: LongText | None = None

    @model_validator(mode="after")
    def _answers_follow_reach(self) -> Self:
        answers = (self.understood_cover, self.signed_personally)
        if self.reached and None in answers:
            raise ValueError("a reached client answers both understood_cover and signed_personally")
        if not self.reached and answers != (None, None):
            raise ValueError(
                "an unreached client gave no answers: leave understood_cover and signed_personally out"
            )
        return self


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
    """The latest return visit: ``passed`` false keeps the policy out of in force (a redo is due)."""

    visited_on: IsoDate
    reached: bool = True
    understood_cover: bool | None
    signed_personally: bool | None
    passed: bool = True
    failure_reasons: list[str] = Field(default_factory=list)


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
    issue_reference: str | None = Field(description="The insurer's reference for the issue (承保).")
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
