"""Request and response shapes of insurance applications (投保单)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from crmkit.clock import IsoDate
from crmkit.money import Money, MoneyRead
from crmkit.pagination import Page
from services.policies.evidence import InsurerReference
from services.policies.terms import LongText, PaymentYears, Share

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OccupationCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{1,20}$"),
    Field(description="The insurer's occupation code (职业代码), e.g. `0001001`."),
]


class BeneficiaryRelationship(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER = "other"


class NamedBeneficiary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    relationship: BeneficiaryRelationship
    share: Share


class NamedBeneficiaries(BaseModel):
    """Named beneficiaries (受益人) whose shares sum to exactly 100%."""

    model_config = ConfigDict(extra="forbid")

    designation: Literal["named"]
    persons: list[NamedBeneficiary] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _shares_make_100(self) -> Self:
        total = sum((p.share for p in self.persons), Decimal(0))
        if total != Decimal(100):
            raise ValueError(f"beneficiary shares sum to {total}%; they must sum to exactly 100%")
        return self


class LegalHeirs(BaseModel):
    """The insured's legal heirs (法定继承人) inherit the benefit."""

    model_config = ConfigDict(extra="forbid")

    designation: Literal["legal_heirs"]


Beneficiaries = Annotated[NamedBeneficiaries | LegalHeirs, Field(discriminator="designation")]


class HealthAnswer(BaseModel):
    """One question of the health disclosure (健康告知) and its answer; stored encrypted."""

    model_config = ConfigDict(extra="forbid")

    question: LongText
    answer: StrictBool
    details: LongText | None = None

    @model_validator(mode="after")
    def _details_for_yes(self) -> Self:
        if self.answer and not self.details:
            raise ValueError("a 'yes' answer needs details (condition, dates, treatment)")
        return self


class GuardianRelationship(StrEnum):
    PARENT = "parent"
    LEGAL_GUARDIAN = "legal_guardian"


class GuardianSignature(BaseModel):
    """A guardian signs for a minor insured (监护人代签)."""

    model_config = ConfigDict(extra="forbid")

    guardian_name: PersonName
    relationship: GuardianRelationship
    signed_on: IsoDate


class ApplicationDetails(BaseModel):
    """What an application adds to a planned item: beneficiaries, disclosure, occupation, guardian."""

    model_config = ConfigDict(extra="forbid")

    beneficiaries: Beneficiaries
    health_disclosure: list[HealthAnswer] = Field(min_length=1, max_length=50)
    occupation_code: OccupationCode
    guardian_signature: GuardianSignature | None = Field(
        default=None, description="Required when the insured is a minor."
    )
    applied_on: IsoDate | None = Field(
        default=None,
        description="The day the client signed the application (投保日); default today, never in the future. "
        "Nothing the insurer did for it (submission, decision, issue...) can be earlier.",
    )


class ApplicationCreate(ApplicationDetails):
    """An application made directly (not from a proposal)."""

    client_id: uuid.UUID = Field(description="The policyholder, a client of yours.")
    insured_member_id: uuid.UUID | None = Field(
        default=None,
        description="A family member of the policyholder's household; omitted = the policyholder.",
    )
    product_id: uuid.UUID
    sum_insured: Money
    annual_premium: Money
    payment_years: PaymentYears


class PreUnderwritingOpinion(StrEnum):
    STANDARD = "standard"
    EXCLUSION = "exclusion"
    LOADING = "loading"
    POSTPONE = "postpone"
    DECLINE = "decline"


class PreUnderwritingCreate(BaseModel):
    """The insurer's opinion on pre-existing conditions, asked before submission (预核保)."""

    model_config = ConfigDict(extra="forbid")

    conditions: LongText = Field(description="The pre-existing conditions shown to the insurer (encrypted).")
    opinion: PreUnderwritingOpinion
    opinion_on: IsoDate


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: LongText


class SubmissionCreate(BaseModel):
    """When the application went to the insurer; omitted = today."""

    model_config = ConfigDict(extra="forbid")

    submitted_on: IsoDate | None = Field(
        default=None, description="Not before the application was recorded, not in the future; default today."
    )


class DecisionCreate(BaseModel):
    """The insurer's underwriting decision, as evidenced by its reference and date."""

    model_config = ConfigDict(extra="forbid")

    insurer_reference: InsurerReference
    decided_on: IsoDate = Field(
        description="The insurer's decision date: not before submission, not in the future."
    )


class ReasonedDecision(DecisionCreate):
    """A decline or postponement: the insurer's reference, date, and its reason."""

    reason: LongText


class RequirementKind(StrEnum):
    MEDICAL_EXAMINATION_REPORT = "medical_examination_report"
    HOSPITAL_RECORDS = "hospital_records"
    FINANCIAL_PROOF = "financial_proof"
    OTHER = "other"


class RequirementCreate(BaseModel):
    """Something the underwriter asked for (人工核保), with a due date."""

    model_config = ConfigDict(extra="forbid")

    kind: RequirementKind
    description: LongText | None = None
    due_on: IsoDate


class RequirementResolution(StrEnum):
    RECEIVED = "received"
    WAIVED = "waived"


class RequirementResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RequirementResolution
    resolved_on: IsoDate


class RequirementRead(BaseModel):
    id: uuid.UUID
    kind: RequirementKind
    description: str | None
    due_on: IsoDate
    status: str
    resolved_on: IsoDate | None
    created_at: datetime


class HealthSummary(BaseModel):
    """The disclosure itself is personal data: only its shape is shown."""

    questions: int
    yes_answers: int


class PreUnderwritingRead(BaseModel):
    opinion: PreUnderwritingOpinion
    opinion_on: IsoDate


class ApplicationLinks(BaseModel):
    """Paths of the application and of what it refers to or created, so no id needs assembling."""

    self: str
    client: str
    proposal: str | None = Field(description="The proposal it came from, if any.")
    policy: str | None = Field(description="The policy issuing created; null before issue.")


class ApplicationRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    insured_member_id: uuid.UUID | None
    insured_name: str
    insured_birth_date: IsoDate
    product_id: uuid.UUID
    proposal_id: uuid.UUID | None
    proposal_item_id: uuid.UUID | None
    sum_insured: MoneyRead
    annual_premium: MoneyRead
    payment_years: int
    beneficiaries: NamedBeneficiaries | LegalHeirs
    health_disclosure: HealthSummary
    occupation_code: str
    guardian_signature: GuardianSignature | None
    pre_underwriting: PreUnderwritingRead | None
    status: str
    status_reason: str | None
    allowed_next_states: list[str]
    applied_on: IsoDate
    submitted_on: IsoDate | None
    decided_on: IsoDate | None
    decision_reference: str | None = Field(
        description="The insurer's reference for its underwriting decision."
    )
    policy_id: uuid.UUID | None = Field(description="The policy issuing created (also in `links.policy`).")
    requirements: list[RequirementRead]
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    links: ApplicationLinks


class ApplicationSummary(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    insured_name: str
    product_id: uuid.UUID
    sum_insured: MoneyRead
    annual_premium: MoneyRead
    status: str
    policy_id: uuid.UUID | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime


ApplicationPage = Page[ApplicationSummary]
