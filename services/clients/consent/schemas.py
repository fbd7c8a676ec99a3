"""Consent records and the audited reveal of an identifier."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crmkit.clock import AwareMoment
from services.clients.identifiers import RevealableField
from services.clients.text import Reason


class ConsentPurpose(StrEnum):
    """What the client agreed to. ``personal_data`` must be active before identifiers are stored."""

    PERSONAL_DATA = "personal_data"
    MARKETING = "marketing"
    SHARING_WITH_INSURER = "sharing_with_insurer"


TextVersion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class ConsentGiven(BaseModel):
    """The client's consent as they gave it: to what, under which text, when."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"purpose": "personal_data", "text_version": "2025-01"}]},
    )

    purpose: ConsentPurpose
    text_version: TextVersion = Field(
        description="Version of the consent text the client read, e.g. `2025-01`."
    )
    given_at: AwareMoment | None = Field(default=None, description="Defaults to now; never in the future.")


class ConsentWithdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class ConsentRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    purpose: ConsentPurpose
    text_version: str
    given_at: datetime
    withdrawn_at: datetime | None
    withdrawal_reason: str | None
    active: bool
    version: int
    created_at: datetime


class RevealRequest(BaseModel):
    """Which identifier to show unmasked, and why (kept in the audit trail)."""

    model_config = ConfigDict(extra="forbid")

    field: RevealableField = Field(
        description="`id_document_number` (any document type), `phone`; `resident_id` (deprecated): "
        "the document number when it is a resident ID."
    )
    reason: Reason


class RevealedIdentifier(BaseModel):
    client_id: uuid.UUID
    field: RevealableField
    value: str


class ConsentCheck(BaseModel):
    """Whether the client has an active consent to a purpose now: the gate other work asks before
    it acts (submission to an insurer: ``sharing_with_insurer``; greetings, invitations and other
    outbound messages: ``marketing``)."""

    client_id: uuid.UUID
    purpose: ConsentPurpose
    active: bool
    consent_id: uuid.UUID | None = Field(description="The newest active consent to the purpose, if any.")
    text_version: str | None
    given_at: datetime | None
