"""Interactions (procedure 三.1, 三.8): appointments, visits, calls and notes, and follow-ups."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from crmkit.clock import IsoDate, Moment
from services.clients.text import ShortText

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Outcome = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class InteractionKind(StrEnum):
    APPOINTMENT = "appointment"
    VISIT = "visit"
    CALL = "call"
    NOTE = "note"


class InteractionCreate(BaseModel):
    """An appointment needs its time, place and purpose; a visit, call or note happened already
    (``at`` defaults to now). A time without an offset is read in the business time zone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "visit",
                    "at": "2026-11-30T10:00:00+08:00",
                    "place": "客户家中",
                    "purpose": "需求分析",
                    "outcome": "确认教育金需求",
                    "next_follow_up_on": "2026-12-07",
                }
            ]
        },
    )

    kind: InteractionKind
    at: Moment | None = Field(default=None, description="When it happens (appointment) or happened.")
    place: ShortText | None = None
    purpose: Purpose | None = None
    outcome: Outcome | None = None
    next_follow_up_on: IsoDate | None = Field(
        default=None, description="The agent's plan after this interaction; not before its own date."
    )


class InteractionUpdate(BaseModel):
    """A partial change (the kind stays); e.g. the outcome of an appointment once it took place."""

    model_config = ConfigDict(extra="forbid")

    at: Moment | None = None
    place: ShortText | None = None
    purpose: Purpose | None = None
    outcome: Outcome | None = None
    next_follow_up_on: IsoDate | None = None

    @field_validator("at")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class InteractionRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    kind: InteractionKind
    at: datetime
    local_date: IsoDate = Field(description="The date of `at` in the business time zone.")
    place: str | None
    purpose: str | None
    outcome: str | None
    next_follow_up_on: IsoDate | None
    recorded_by: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


class AppointmentRead(InteractionRead):
    client_name: str
