"""Request and response shapes of the client record; personal fields are masked on the way out."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
)

from crmkit.clock import IsoDate
from crmkit.pagination import Page
from crmkit.periods import Count
from services.clients.consent.schemas import ConsentGiven
from services.clients.identity_documents import DocumentRejected, IdentityDocumentType, check_document
from services.clients.interactions.schemas import AppointmentRead
from services.clients.milestones.schemas import UpcomingDate


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNDISCLOSED = "undisclosed"


class Channel(StrEnum):
    """How the client was acquired (客户开发)."""

    WARM_MARKET = "warm_market"
    REFERRAL = "referral"
    COLD = "cold"
    ONLINE = "online"


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class ClientSort(StrEnum):
    """List orders: newest first; by tier (A first, unassessed last); by next follow-up (soonest first)."""

    RECENT = "recent"
    TIER = "tier"
    FOLLOW_UP = "follow_up"


def normalise_resident_id(value: str) -> str:
    """Chinese resident ID (居民身份证): the rule of ``identity_documents`` for type ``resident_id``."""
    try:
        return check_document(IdentityDocumentType.RESIDENT_ID, value).number
    except DocumentRejected as exc:
        raise ValueError(exc.message) from None


def normalise_mobile_phone(value: str) -> str:
    """A mobile number, mainland China by default, as E.164 (``+8613812345678``)."""
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    kind = phonenumbers.number_type(parsed)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValueError("must be a mobile phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


ClientName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ResidentId = Annotated[str, StringConstraints(max_length=32), AfterValidator(normalise_resident_id)]
DocumentNumber = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32),
    Field(description="Checked by the rule of `id_document_type` (see docs/clients.md)."),
]
DocumentCountry = Annotated[
    str,
    StringConstraints(min_length=2, max_length=3),
    Field(description="A passport's issuing country, ISO 3166-1 alpha-3 or alpha-2 (stored as alpha-3)."),
]
MobilePhone = Annotated[str, StringConstraints(max_length=32), AfterValidator(normalise_mobile_phone)]
Occupation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OccupationClass = Annotated[StrictInt, Field(ge=1, le=6, description="Occupation class 1 (office) to 6.")]
Notes = Annotated[str, StringConstraints(max_length=4000)]


class ClientCreate(BaseModel):
    """What a caller may set on a new client; owner, tier, version and timestamps are server-owned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "张伟",
                    "gender": "male",
                    "id_document_type": "resident_id",
                    "id_document_number": "31011519860312001X",
                    "phone": "+8613812345678",
                    "occupation": "软件工程师",
                    "occupation_class": 1,
                    "channel": "referral",
                    "notes": "朋友介绍 关注子女教育金",
                    "consent": {"purpose": "personal_data", "text_version": "2025-01"},
                }
            ]
        },
    )

    name: ClientName
    gender: Gender = Gender.UNDISCLOSED
    birth_date: IsoDate | None = Field(
        default=None, description="Taken from the identity document when omitted (all types but passport)."
    )
    id_document_type: IdentityDocumentType | None = Field(
        default=None, description="The document's type; `resident_id` when a number is sent without one."
    )
    id_document_number: DocumentNumber | None = None
    id_document_country: DocumentCountry | None = None
    resident_id: ResidentId | None = Field(
        default=None,
        description="Deprecated: `id_document_number` with type `resident_id`. Send one or the other.",
    )
    phone: MobilePhone | None = None
    occupation: Occupation | None = None
    occupation_class: OccupationClass | None = None
    channel: Channel
    referred_by_client_id: uuid.UUID | None = Field(
        default=None, description="Required when channel is `referral`: a client you can see."
    )
    notes: Notes | None = None
    consent: ConsentGiven | None = Field(
        default=None,
        description="Required (purpose `personal_data`) when a resident ID or phone is sent: "
        "identifiers are stored only with the client's consent.",
    )


_NOT_NULLABLE = ("name", "gender", "channel", "owner_agent_id")


class ClientUpdate(BaseModel):
    """A partial change: fields left out are kept, an explicit null clears a nullable field."""

    model_config = ConfigDict(extra="forbid")

    name: ClientName | None = None
    gender: Gender | None = None
    birth_date: IsoDate | None = None
    id_document_type: IdentityDocumentType | None = Field(
        default=None, description="Sent with `id_document_number`; `resident_id` when left out."
    )
    id_document_number: DocumentNumber | None = Field(
        default=None, description="A new document (with its type and country); null removes the document."
    )
    id_document_country: DocumentCountry | None = None
    resident_id: ResidentId | None = Field(
        default=None,
        description="Deprecated: `id_document_number` with type `resident_id`; null removes the document.",
    )
    phone: MobilePhone | None = None
    occupation: Occupation | None = None
    occupation_class: OccupationClass | None = None
    channel: Channel | None = None
    referred_by_client_id: uuid.UUID | None = None
    notes: Notes | None = None
    owner_agent_id: uuid.UUID | None = Field(
        default=None, description="Reassign to another agent (admins, or team leads within their team)."
    )

    @field_validator(*_NOT_NULLABLE)
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields present in the body: an explicit null here would erase a required value.
        if value is None:
            raise ValueError("cannot be null")
        return value


class ClientRead(BaseModel):
    """A client as shown to callers: identity document number and phone are masked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c7a4e-8d2b-4c1a-9e3f-2b6d8a1c4e70",
                    "name": "张伟",
                    "gender": "male",
                    "birth_date": "1986-03-12",
                    "id_document_type": "resident_id",
                    "id_document_number": "310***********001X",
                    "id_document_country": None,
                    "resident_id": "310***********001X",
                    "phone": "+86 138****5678",
                    "occupation": "软件工程师",
                    "occupation_class": 1,
                    "channel": "referral",
                    "referred_by_client_id": None,
                    "notes": None,
                    "tier": "A",
                    "next_follow_up_on": "2026-12-07",
                    "owner_agent_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "team_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "version": 3,
                    "created_at": "2026-11-02T09:15:00Z",
                    "updated_at": "2026-11-30T02:40:11Z",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    gender: Gender
    birth_date: IsoDate | None
    id_document_type: IdentityDocumentType | None
    id_document_number: str | None = Field(description="Masked, e.g. `110***********1234`, `E******78`.")
    id_document_country: str | None = Field(description="A passport's issuing country (ISO 3166-1 alpha-3).")
    resident_id: str | None = Field(
        description="Deprecated: the masked number when the document is a resident ID, else null.",
    )
    phone: str | None = Field(description="Masked, e.g. `+86 138****5678`.")
    occupation: str | None
    occupation_class: int | None
    channel: Channel
    referred_by_client_id: uuid.UUID | None
    notes: str | None
    tier: Tier | None = Field(description="Effective tier: the computed one, or the agent's override.")
    next_follow_up_on: IsoDate | None = Field(description="From the latest interaction (see interactions).")
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


ClientPage = Page[ClientRead]


class AgendaLists(BaseModel):
    """Appointments on the day, follow-ups due by it, birthdays and family events in the days after."""

    appointments: Page[AppointmentRead]
    follow_ups: ClientPage
    upcoming: Page[UpcomingDate]


class TierMovement(BaseModel):
    from_tier: str | None
    to_tier: str | None
    count: int


class ClientsReport(BaseModel):
    from_date: IsoDate = Field(serialization_alias="from")
    to_date: IsoDate = Field(serialization_alias="to")
    new_clients: int
    new_clients_by_channel: list[Count]
    new_clients_by_tier: list[Count] = Field(description="Current tier; `unassessed` when none yet.")
    tier_movements: list[TierMovement]
    complaints_by_status: list[Count] = Field(description="Complaints received in the period, by status now.")
