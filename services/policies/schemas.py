"""Response shapes of the service-wide reads: work lists, the agenda, the business report, the review.

The subdomains' own shapes live in their packages (``applications/schemas.py``...).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crmkit.clock import IsoDate
from crmkit.money import MoneyRead
from crmkit.pagination import Page
from crmkit.periods import Count
from services.policies.terms import LongText, Wall


class RequirementDue(BaseModel):
    requirement_id: uuid.UUID
    application_id: uuid.UUID
    client_id: uuid.UUID
    insured_name: str
    kind: str
    description: str | None
    due_on: IsoDate
    overdue: bool


class CoolingOffEnding(BaseModel):
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    product_name: str
    receipt_signed_on: IsoDate
    cooling_off_ends_on: IsoDate
    days_left: int


class ReturnVisitPending(BaseModel):
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    product_name: str
    receipt_signed_on: IsoDate
    cooling_off_ends_on: IsoDate
    redo: bool = Field(description="The last return visit failed: the agent arranges another one.")
    last_visit_on: IsoDate | None
    failure_reasons: list[str] = Field(
        description="Why the last visit failed (unreached, not_signed_personally...)."
    )


class FlagState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


class ComplianceFlagRead(BaseModel):
    """A compliance red flag (manual 六), e.g. a failed return visit; open until a later visit passes."""

    id: uuid.UUID
    policy_id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    reasons: list[str]
    raised_on: IsoDate
    resolved_on: IsoDate | None
    resolution: str | None = Field(
        description="How it was resolved: a return visit that passed, or the team lead's note."
    )
    resolved_by: str | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None


class FlagResolution(BaseModel):
    """The team lead closes a flag after looking into it (e.g. the client cancelled the policy)."""

    model_config = ConfigDict(extra="forbid")

    resolution: LongText


class PremiumDueItem(BaseModel):
    premium_id: uuid.UUID
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    instalment: int
    due_on: IsoDate
    amount: MoneyRead
    overdue: bool


class CollectionItem(BaseModel):
    """An overdue instalment of a live policy: collect it before the grace period ends (保险法 §36)."""

    premium_id: uuid.UUID
    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    instalment: int
    due_on: IsoDate
    amount: MoneyRead
    grace_ends_on: IsoDate = Field(
        description="The last day of the grace period; the policy lapses after it."
    )
    days_left: int = Field(description="Days left in the grace period (0: the last day).")


class RenewalDue(BaseModel):
    """A one-year term ending within 60 days with no decision yet: renew, change or decline."""

    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    product_name: str
    expires_on: IsoDate = Field(description="The first day the term no longer covers.")
    days_left: int
    notice_days: int = Field(description="The notice step reached: 60, 30 or 7 days before the end.")


class LapsedPolicy(BaseModel):
    """A lapsed policy (中止) that can still be reinstated (复效, 保险法 §37)."""

    policy_id: uuid.UUID
    policy_number: str
    client_id: uuid.UUID
    insured_name: str
    product_name: str
    lapsed_on: IsoDate
    reinstatement_until: IsoDate = Field(description="The last day a reinstatement can be requested.")


class AgendaLists(BaseModel):
    """The policies part of an agent's agenda: every work list, one page each, in one call."""

    requirements_due: Page[RequirementDue]
    cooling_off_ending: Page[CoolingOffEnding]
    return_visits_pending: Page[ReturnVisitPending]
    premiums_due: Page[PremiumDueItem]
    collection: Page[CollectionItem]
    renewals_due: Page[RenewalDue]
    lapsed: Page[LapsedPolicy]
    reviews_due: Page[ReviewDue]


class PoliciesReport(BaseModel):
    """Each figure counts by one date basis, named in ``date_bases`` and in its description."""

    from_date: IsoDate = Field(serialization_alias="from")
    to_date: IsoDate = Field(serialization_alias="to")
    proposals_by_status: list[Count] = Field(
        description="Basis `created_at`: proposals made in the period (business-local day), by status now."
    )
    applications_by_status: list[Count] = Field(
        description="Basis `applied_on`: applications the clients signed in the period (a cohort), by status "
        "now. Its `issued` row is not `policies_issued`: an application of the period may be issued later."
    )
    applications_submitted: int = Field(
        description="Basis `submitted_on`: applications sent to the insurer in the period."
    )
    applications_decided: list[Count] = Field(
        description="Basis `decided_on`: the insurer's underwriting decisions dated in the period, by "
        "outcome (`approved`, `declined`, `postponed`)."
    )
    policies_issued: int = Field(description="Basis `issued_on`: policies the insurer issued in the period.")
    annual_premium_issued: MoneyRead = Field(
        description="Basis `issued_on`: sum of the annual premiums of those policies (CNY)."
    )
    cooling_off_cancellations: int = Field(
        description="Basis `ended_on`: policies cancelled within cooling-off, cancelled in the period."
    )
    cooling_off_refunds: MoneyRead = Field(
        description="Basis `ended_on`: the premiums refunded for them (CNY)."
    )
    annual_reviews_held: int = Field(
        description="Basis `reviewed_on`: annual reviews (年度检视) held with clients in the period."
    )
    date_bases: dict[str, str] = Field(
        description="Figure → the date it counts by (the same basis every figure's description names)."
    )


class ReviewedPolicy(BaseModel):
    policy_id: uuid.UUID
    policy_number: str
    insurer: str
    product_name: str
    category: str
    insured_name: str
    insured_member_id: uuid.UUID | None
    status: str
    in_force: bool
    effective_on: IsoDate
    sum_insured: MoneyRead
    annual_premium: MoneyRead
    payment_years: int
    premiums_paid: int
    walls: list[Wall]


class WallReview(BaseModel):
    wall: Wall
    target: Decimal | None
    recorded_existing: Decimal | None
    """Cover the needs assessment already counts (social insurance, older policies elsewhere)."""
    covered_by_policies: Decimal
    """Sum insured of this service's in-force policies on the client covering the wall."""
    gap_left: Decimal | None


class ReviewFinding(BaseModel):
    code: str
    message: str


class IncomeTrend(BaseModel):
    latest: Decimal | None
    previous: Decimal | None
    grew: bool


class PolicyReview(BaseModel):
    client_id: uuid.UUID
    reviewed_on: IsoDate
    needs_assessed: bool
    policies: list[ReviewedPolicy]
    walls: list[WallReview]
    income: IncomeTrend
    findings: list[ReviewFinding]


class ExportKind(StrEnum):
    APPLICATIONS = "applications"
    POLICIES = "policies"


class SweepRead(BaseModel):
    """What one run of the scheduled sweep changed."""

    ran: bool = Field(description="False when another replica was sweeping at that moment.")
    today: IsoDate | None
    lapsed: int
    terminated: int
    expired: int
    cooling_off_ended: int
    renewal_due: int


ReviewNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RecordedFindingKind(StrEnum):
    """What an annual review found (manual 五.1): a cover gap, a change of income, beneficiaries to update."""

    COVERAGE_GAP = "coverage_gap"
    INCOME_CHANGE = "income_change"
    BENEFICIARY_UPDATE = "beneficiary_update"
    OTHER = "other"


class RecordedFinding(BaseModel):
    """One finding of a review held with the client."""

    model_config = ConfigDict(extra="forbid")

    kind: RecordedFindingKind
    detail: LongText
    wall: Wall | None = Field(default=None, description="Required for `coverage_gap`: the wall short.")
    policy_id: uuid.UUID | None = Field(
        default=None, description="For `beneficiary_update`: the policy whose beneficiaries must change."
    )

    @model_validator(mode="after")
    def _gap_names_its_wall(self) -> Self:
        if self.kind == RecordedFindingKind.COVERAGE_GAP and self.wall is None:
            raise ValueError("a coverage gap names its wall")
        return self


class AnnualReviewCreate(BaseModel):
    """The annual review (年度检视) held with the client, with what it found; no findings is a finding too."""

    model_config = ConfigDict(extra="forbid")

    reviewed_on: IsoDate = Field(description="The day the review was held: not in the future.")
    findings: list[RecordedFinding] = Field(default_factory=list, max_length=50)
    note: ReviewNote | None = None


class AnnualReviewRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    reviewed_on: IsoDate
    findings: list[RecordedFinding]
    note: str | None
    next_review_due_on: IsoDate = Field(description="Twelve months after this review.")
    recorded_by: str
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    created_at: datetime


class ReviewDue(BaseModel):
    """A client with policies in force whose annual review is due (never held: counted from the first
    in-force policy's effective date)."""

    client_id: uuid.UUID
    policies_in_force: int
    last_reviewed_on: IsoDate | None
    due_on: IsoDate
    overdue: bool
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
