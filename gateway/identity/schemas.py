"""Request and response bodies of the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from crmkit.auth import Role

Scope = Literal[
    "clients:read",
    "clients:write",
    "policies:read",
    "policies:write",
    "claims:read",
    "claims:write",
    "devices:read",
    "devices:write",
    "tasks:read",
    "tasks:write",
    "performance:read",
    "performance:write",
    "webhooks",
]

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Location = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Password = Annotated[str, Field(min_length=12, max_length=256)]


class Strict(BaseModel):
    """Request bodies refuse unknown (or server-owned) fields."""

    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "agent@example.com", "password": "correct horse battery staple"}]
        }
    )
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)]
    password: Annotated[str, Field(max_length=256)]
    device_token: Annotated[
        str | None,
        Field(
            max_length=128,
            description="The `device_token` of an earlier sign-in of this account on this device: "
            "it signs in past the throttles other people's failed attempts may have set.",
        ),
    ] = None


class RefreshRequest(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3YzllIn0.c2lnbmF0dXJl",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "r1.8f2d0c6b3a9e4f1d",
                    "device_token": "d1.5b7e2a90c4f3",
                }
            ]
        }
    )
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int
    refresh_token: str
    device_token: str | None = Field(
        default=None,
        description="After a sign-in: keep it on this device and send it with the next sign-in.",
    )


class TeamCreate(Strict):
    name: TeamName


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_at: datetime


class UserCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "li.na@example.com",
                    "password": "a long passphrase of her own",
                    "full_name": "李娜",
                    "role": "agent",
                    "team_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                }
            ]
        }
    )
    email: Email
    password: Password
    full_name: Name
    role: Role
    team_id: uuid.UUID | None = None
    location: Location | None = None


class UserUpdate(Strict):
    full_name: Name | None = None
    role: Role | None = None
    team_id: uuid.UUID | None = None
    location: Location | None = None
    is_active: StrictBool | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    team_id: uuid.UUID | None
    location: str | None
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "reporting integration",
                    "user_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "scopes": ["clients:read", "policies:read"],
                }
            ]
        }
    )
    name: TeamName
    user_id: uuid.UUID
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=9)]

    @field_validator("scopes")
    @classmethod
    def _unique(cls, value: list[Scope]) -> list[Scope]:
        return sorted(set(value))


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    user_id: uuid.UUID
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself: shown this once, never again.")
