"""Request and response shapes of proposals (方案设计) and their revisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from crmkit.clock import AwareMoment
from crmkit.money import Money, MoneyRead
from crmkit.pagination import Page
from services.policies.products.schemas import Disclosure
from services.policies.terms import (
    Category,
    Channel,
    DisclosureItem,
    Kind,
    LongText,
    PaymentYears,
    Rate,
    RateRead,
    ShortText,
    Wall,
)


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
    illustrated_rate: Rate | None = Field(
        default=None,
        description="A return shown to the client (percent a year); never above the product's "
        "max_illustrated_rate, and only for a product with non-guaranteed benefits.",
    )


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
    illustrated_rate: RateRead | None = None
    disclosure: Disclosure | None = Field(
        default=None,
        description="The product's disclosure when the revision was made (null before issue 17).",
    )


class AcknowledgmentCreate(BaseModel):
    """The client acknowledged one disclosure item of one product, as explained under a version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "revision": 1,
                    "product_id": "6f1c2d3e-0000-4000-8000-000000000001",
                    "item": "exclusions",
                    "channel": "in_person",
                    "disclosure_version": 1,
                }
            ]
        },
    )

    revision: StrictInt = Field(ge=1)
    product_id: uuid.UUID
    item: DisclosureItem
    channel: Channel
    disclosure_version: StrictInt = Field(ge=1, description="The product's current disclosure version.")
    acknowledged_at: AwareMoment | None = Field(
        default=None, description="Defaults to now; never in the future."
    )


class AcknowledgmentRead(BaseModel):
    id: uuid.UUID
    revision: int
    product_id: uuid.UUID
    item: DisclosureItem
    channel: Channel
    disclosure_version: int
    acknowledged_at: datetime
    recorded_by: str
    created_at: datetime


class InformedChoiceCreate(BaseModel):
    """The client keeps the plan against a finding, knowing the rule, for a reason of their own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "revision": 1,
                    "finding_code": "protection_before_wealth",
                    "reason": "客户已有单位团体保障, 坚持先为子女储备教育金",
                    "channel": "in_person",
                }
            ]
        },
    )

    revision: StrictInt = Field(ge=1)
    finding_code: str = Field(min_length=1, max_length=40, description="The finding's `code`.")
    item_id: uuid.UUID | None = Field(default=None, description="The finding's `item_id`, when it has one.")
    reason: LongText = Field(description="Why the client chose so, in their words.")
    channel: Channel


class InformedChoiceRead(BaseModel):
    id: uuid.UUID
    revision: int
    finding_code: str
    item_id: uuid.UUID | None
    reason: str
    channel: Channel
    recorded_by: str
    created_at: datetime


class RevisionRead(BaseModel):
    revision: int
    items: list[ProposalItemRead]
    findings: list[Finding]
    acknowledgments: list[AcknowledgmentRead] = Field(default_factory=list)
    informed_choices: list[InformedChoiceRead] = Field(default_factory=list)
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
