"""Milestones (manual 五.3): family events worth a greeting, and the upcoming-dates query."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from crmkit.clock import IsoDate
from services.clients.text import Note, ShortText


class MilestoneKind(StrEnum):
    SCHOOL_ENTRY = "school_entry"
    ELDER_BIRTHDAY_BANQUET = "elder_birthday_banquet"
    CUSTOM = "custom"


class MilestoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: MilestoneKind
    title: ShortText
    occurs_on: IsoDate = Field(description="The event's date (a real calendar date: no 30 February).")
    recurs_yearly: StrictBool = Field(
        default=False, description="Comes back every year (e.g. an anniversary)."
    )
    family_member_id: uuid.UUID | None = Field(default=None, description="Whose event, if not the client's.")
    notes: Note | None = None


class MilestoneUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: MilestoneKind | None = None
    title: ShortText | None = None
    occurs_on: IsoDate | None = None
    recurs_yearly: StrictBool | None = None
    family_member_id: uuid.UUID | None = None
    notes: Note | None = None

    @field_validator("kind", "title", "occurs_on", "recurs_yearly")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class MilestoneRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    family_member_id: uuid.UUID | None
    kind: MilestoneKind
    title: str
    occurs_on: IsoDate
    recurs_yearly: bool
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class UpcomingKind(StrEnum):
    BIRTHDAY = "birthday"
    SCHOOL_ENTRY = "school_entry"
    ELDER_BIRTHDAY_BANQUET = "elder_birthday_banquet"
    CUSTOM = "custom"


class UpcomingDate(BaseModel):
    """One date to act on: a birthday (client or family member) or a family event."""

    on: IsoDate
    days_away: int
    kind: UpcomingKind
    title: str
    client_id: uuid.UUID
    client_name: str
    family_member_id: uuid.UUID | None = None
    person_name: str = Field(description="Whose day it is: the client or a family member.")
    milestone_id: uuid.UUID | None = None
    turning: int | None = Field(default=None, description="For birthdays: the age reached that day.")
