"""Request and response shapes of claims; the bank account is masked on the way out."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from crmkit.clock import IsoDate
from crmkit.money import Money, MoneyOrZero
from crmkit.pagination import Page
from crmkit.periods import Count
from services.claims.checklists import ClaimType
from services.claims.transitions import ClaimStatus, DocumentStatus

_BANK_ACCOUNT = re.compile(r"\d{10,30}")


def _normalise_bank_account(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    digits = re.sub(r"[\s-]", "", value)
    if not _BANK_ACCOUNT.fullmatch(digits):
        raise ValueError("a bank account number is 10 to 30 digits (spaces and dashes are ignored)")
    return digits


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
InsurerReference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
BankAccount = Annotated[str, StringConstraints(max_length=40), BeforeValidator(_normalise_bank_account)]


class ClaimantRelationship(StrEnum):
    """Who claims, relative to the insured person."""

    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    BENEFICIARY = "beneficiary"
    OTHER = "other"


class Claimant(BaseModel):
    """The person who claims and is paid; the bank account is stored encrypted."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    relationship: ClaimantRelationship = ClaimantRelationship.SELF
    bank_name: Name | None = None
    bank_account: BankAccount | None = Field(default=None, description="Digits only; shown masked.")


class ClaimantRead(BaseModel):
    name: str
    relationship: ClaimantRelationship
    bank_name: str | None
    bank_account: str | None = Field(description="Masked, e.g. `6222************1234`.")


class ClaimCreate(BaseModel):
    """A newly reported claim; owner, status, deadlines and version are server-owned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "policy_id": "0b7f6a52-3c1e-4e43-9d55-7a8f0f2c9a11",
                    "claim_type": "critical_illness",
                    "incident_date": "2026-11-20",
                    "claimed_amount": "500000.00",
                    "claimant": {
                        "name": "张伟",
                        "relationship": "self",
                        "bank_name": "工商银行",
                        "bank_account": "6222021234567890123",
                    },
                    "description": "确诊甲状腺癌 已住院手术",
                }
            ]
        },
    )

    policy_id: uuid.UUID = Field(description="A policy you can see, in force on the incident date.")
    claim_type: ClaimType
    incident_date: IsoDate = Field(description="Not in the future (business time zone).")
    reported_on: IsoDate | None = Field(
        default=None, description="Defaults to today; between the incident date and today."
    )
    claimed_amount: Money
    claimant: Claimant
    description: Text | None = None


class ClaimUpdate(BaseModel):
    """Corrections before the insurer decides: amount, claimant, description."""

    model_config = ConfigDict(extra="forbid")

    claimed_amount: Money | None = None
    claimant: Claimant | None = None
    description: Text | None = None

    @field_validator("claimed_amount", "claimant")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields present in the body: an explicit null would erase a required value.
        if value is None:
            raise ValueError("cannot be null")
        return value


class DocumentRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    required: bool
    status: DocumentStatus
    allowed_next_statuses: list[DocumentStatus]
    outstanding_since: IsoDate | None = Field(
        description="Business-local date since which the client owes it."
    )
    received_at: datetime | None
    received_by: uuid.UUID | None
    submitted_at: datetime | None
    rejection_reason: str | None
    note: str | None


class ClaimRead(BaseModel):
    """A claim as listed (without its checklist)."""

    id: uuid.UUID
    policy_id: uuid.UUID
    policy_number: str | None
    insurer: str | None
    product_name: str | None
    client_id: uuid.UUID
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    claim_type: ClaimType
    incident_date: IsoDate
    in_waiting_period: bool = Field(
        description="Incident inside the policy's waiting period (等待期): accepted; the insurer decides."
    )
    waiting_period_ends_on: IsoDate | None
    reported_on: IsoDate
    description: str | None
    claimed_amount: Money
    claimant: ClaimantRead
    status: ClaimStatus
    allowed_next_statuses: list[ClaimStatus]
    submitted_on: IsoDate | None
    decision_due_on: IsoDate | None = Field(description="The insurer's decision is due by this date.")
    decided_on: IsoDate | None
    decision_reference: str | None = Field(description="The insurer's reference for its decision.")
    approved_amount: Money | None
    paid_amount: Money | None
    paid_on: IsoDate | None
    closing_reason: str | None
    last_client_update_at: datetime
    client_update_due_on: IsoDate | None = Field(
        description="Business-local date the next weekly client update is due (open claims only)."
    )
    documents_missing_since: IsoDate | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class ClaimDetail(ClaimRead):
    """One claim with its document checklist."""

    documents: list[DocumentRead]


class DocumentAdd(BaseModel):
    """An extra item the insurer asked for (beyond the claim type's checklist)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    required: StrictBool = True
    note: Reason | None = None


class DocumentChange(BaseModel):
    """Move a checklist item: missing → received → submitted; rejected needs a reason."""

    model_config = ConfigDict(extra="forbid")

    status: DocumentStatus
    rejection_reason: Reason | None = Field(default=None, description="Required when rejecting.")
    note: Reason | None = None


class ClaimMove(BaseModel):
    """Move a claim to its next status node; which fields go with which status is in ``MOVE_FIELDS``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "approved", "approved_amount": "450000.00", "note": "保险公司核定金额"}]
        },
    )

    status: ClaimStatus
    note: Reason | None = Field(default=None, description="Shown on the timeline.")
    submitted_on: IsoDate | None = Field(
        default=None, description="For `submitted`: when the insurer received the file (default today)."
    )
    approved_amount: Money | None = Field(
        default=None, description="Required for `approved`; may differ from the claimed amount."
    )
    insurer_reference: InsurerReference | None = Field(
        default=None,
        description="Required for `approved` and `rejected`: the insurer's reference for its decision "
        "(the claim decision letter's number), the evidence the agent copied it from.",
    )
    decided_on: IsoDate | None = Field(
        default=None,
        description="Required for `approved` and `rejected`: the insurer's decision date; not before the "
        "file was submitted, not in the future.",
    )
    paid_amount: Money | None = Field(default=None, description="Required for `paid`.")
    paid_on: IsoDate | None = Field(
        default=None, description="For `paid`: defaults to today; not in the future."
    )
    reason: Reason | None = Field(
        default=None, description="Required for `rejected`; optional for `withdrawn`."
    )
    documents: list[DocumentAdd] | None = Field(
        default=None,
        max_length=20,
        description="For `more_information_requested`: items the insurer asked for, added to the checklist.",
    )


class UpdateChannel(StrEnum):
    PHONE = "phone"
    WECHAT = "wechat"
    SMS = "sms"
    VISIT = "visit"
    EMAIL = "email"
    OTHER = "other"


class ClientUpdateCreate(BaseModel):
    """Weekly feedback given to the client (每周反馈)."""

    model_config = ConfigDict(extra="forbid")

    channel: UpdateChannel
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    contacted_at: datetime | None = Field(
        default=None, description="When the client was told (defaults to now; not in the future)."
    )


class TimelineEntry(BaseModel):
    id: int
    kind: Literal["status_changed", "client_update"]
    occurred_at: datetime
    actor: str
    from_status: ClaimStatus | None
    to_status: ClaimStatus | None
    channel: UpdateChannel | None
    summary: str | None


class ChecklistItem(BaseModel):
    code: str
    name: str
    name_zh: str


class ChecklistRead(BaseModel):
    claim_type: ClaimType
    documents: list[ChecklistItem]


ClaimPage = Page[ClaimRead]
TimelinePage = Page[TimelineEntry]


class AgendaLists(BaseModel):
    """The claims part of an agent's agenda: both work lists, one page each, in one call."""

    updates_due: ClaimPage
    decisions_overdue: ClaimPage


class ClaimsReport(BaseModel):
    from_date: IsoDate = Field(serialization_alias="from")
    to_date: IsoDate = Field(serialization_alias="to")
    claims_opened: int = Field(description="Claims reported in the period.")
    opened_by_status: list[Count] = Field(description="Those claims by their status now.")
    claims_paid: int = Field(description="Claims paid in the period.")
    amount_paid: MoneyOrZero
    average_days_to_pay: Decimal | None = Field(description="From report to payment, for the claims paid.")
