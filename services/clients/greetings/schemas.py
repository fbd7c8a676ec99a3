"""Greetings, event invitations and other outbound messages to a client."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Occasion(StrEnum):
    BIRTHDAY = "birthday"
    MILESTONE = "milestone"
    FESTIVAL = "festival"
    EVENT_INVITATION = "event_invitation"
    OTHER = "other"


class GreetingChannel(StrEnum):
    WECHAT = "wechat"
    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"


class GreetingCreate(BaseModel):
    """A message sent to the client; needs their active ``marketing`` consent (else 409)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"occasion": "birthday", "channel": "wechat", "message": "张先生, 祝您生日快乐!"}]
        },
    )

    occasion: Occasion
    channel: GreetingChannel
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class GreetingRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    occasion: Occasion
    channel: GreetingChannel
    message: str
    consent_id: uuid.UUID = Field(description="The marketing consent it was sent under.")
    sent_at: datetime
    sent_by: str
    created_at: datetime
