"""Shapes of duplicate detection and merging."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from crmkit.pagination import Page
from services.clients.schemas import ClientRead


class DuplicateReason(StrEnum):
    """Why two clients look like one person."""

    SAME_RESIDENT_ID = "same_resident_id"
    SAME_PHONE = "same_phone"
    SIMILAR_NAME_SAME_BIRTH_DATE = "similar_name_same_birth_date"


class DuplicatePair(BaseModel):
    """Two live clients in the caller's scope that look like one person (either may survive a merge)."""

    client: ClientRead
    duplicate: ClientRead
    reasons: list[DuplicateReason]


DuplicatePage = Page[DuplicatePair]


class MergeRequest(BaseModel):
    """The client to merge into the one named in the path (which survives)."""

    model_config = ConfigDict(extra="forbid")

    duplicate_id: uuid.UUID = Field(description="The client that is merged away (soft-deleted).")
