"""Request and response shapes of client events, invitations and referrals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from crmkit.clock import IsoDate


class ClientEventKind(StrEnum):
    HEALTH_TALK = "health_talk"
    LEGAL_CONSULTATION = "legal_consultation"
    PRODUCT_BRIEFING = "product_briefing"
    COMMUNITY_EVENT = "community_event"


class Rsvp(StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class RsvpAnswer(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ClientEventCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "health_talk",
                    "title": "冬季养生健康讲座",
                    "held_on": "2026-12-12",
                    "place": "浦东社区活动中心",
                    "capacity": 30,
                }
            ]
        },
    )

    kind: ClientEventKind
    title: Text200
    held_on: IsoDate
    place: Text200
    capacity: Annotated[StrictInt, Field(ge=1, le=10_000)]
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class ClientEventRead(BaseModel):
    id: uuid.UUID
    kind: ClientEventKind
    title: str
    held_on: date
    place: str
    capacity: int
    notes: str | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class ClientEventPage(BaseModel):
    items: list[ClientEventRead]


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID


class InvitationRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    client_id: uuid.UUID
    rsvp: Rsvp
    attended: bool
    invited_at: datetime
    responded_at: datetime | None
    attended_at: datetime | None
    version: int


class InvitationPage(BaseModel):
    items: list[InvitationRead]


class RsvpWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: RsvpAnswer


class AttendanceWrite(BaseModel):
    """Someone invited came to the event."""

    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID


class AcquisitionWrite(BaseModel):
    """A client acquired at the event: met there, or referred there by someone who came."""

    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID


class AcquisitionRead(BaseModel):
    event_id: uuid.UUID
    client_id: uuid.UUID
    referral: bool = Field(description="Referred there by a client who attended.")
    referred_by_client_id: uuid.UUID | None
    created_at: datetime


class ClientEventReport(BaseModel):
    """What the event brought: invited, replies, attended, new clients and referrals made there."""

    event_id: uuid.UUID
    capacity: int
    invited: int
    accepted: int
    declined: int
    attended: int
    new_clients: int = Field(description="Clients acquired at the event (referrals included).")
    referrals: int = Field(description="Of those, clients referred there by someone who attended.")
    acquired: list[AcquisitionRead]


class Referral(BaseModel):
    """A client this client referred, and what they became."""

    client_id: uuid.UUID
    name: str
    tier: str | None
    created_at: datetime
    acquired_at_event_id: uuid.UUID | None


class ReferralPage(BaseModel):
    """One page of a client's referrals, oldest first, with the totals of all of them."""

    referred_by_client_id: uuid.UUID
    count: int = Field(description="How many referrals in all (every page), in your scope.")
    tiers: dict[str, int] = Field(
        description="How many of the referrals (every page) are tier A, B, C or untiered (`none`)."
    )
    items: list[Referral]
    next_cursor: str | None = None
