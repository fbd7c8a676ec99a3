"""Request and response bodies of the webhooks API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

EventPattern = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=80, pattern=r"^(\*|[a-z_]+\.(\*|[a-z_]+))$"),
]
"""An event type (``client.created``), every type of a resource (``client.*``), or ``*``."""
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(value: list[str]) -> list[str]:
    return sorted(set(value))


class SubscriptionCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://integrator.example.com/hooks/crm",
                    "event_types": ["client.created", "policy.issued"],
                    "description": "CRM events for the data warehouse",
                }
            ]
        }
    )
    url: Url
    event_types: Annotated[list[EventPattern], Field(min_length=1, max_length=50)]
    secret: Secret | None = Field(
        default=None, description="Your signing secret; omit to have one generated (shown once)."
    )
    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    is_active: StrictBool = True

    _types = field_validator("event_types")(_unique)


class SubscriptionUpdate(Strict):
    url: Url | None = None
    event_types: Annotated[list[EventPattern], Field(min_length=1, max_length=50)] | None = None
    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    is_active: StrictBool | None = None

    @field_validator("event_types")
    @classmethod
    def _unique_types(cls, value: list[str] | None) -> list[str] | None:
        return _unique(value) if value is not None else None


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    is_active: bool
    created_by: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="The signing secret: shown this once, keep it safe.")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    status: str = Field(description="`pending`, `delivered` or `failed` (retries exhausted).")
    attempts: int
    response_status: int | None
    latency_ms: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
