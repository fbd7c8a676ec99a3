"""Public shapes of the documents API: metadata only; content travels as files."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from services.documents.kinds import DocumentKind, RecordType


class RecordRead(BaseModel):
    type: RecordType
    id: uuid.UUID
    parent_id: uuid.UUID | None = Field(
        description="The complaint's client, the requirement's application, the checklist item's claim."
    )


class OfferedAction(BaseModel):
    """A next step the upload suggests but does not take (the agent confirms it)."""

    operation_id: str
    method: str
    href: str
    body: dict[str, str]
    description: str


class DocumentRead(BaseModel):
    id: uuid.UUID
    record: RecordRead
    client_id: uuid.UUID | None
    kind: DocumentKind
    filename: str = Field(description="Sanitised; a label only, never a path.")
    content_type: str = Field(description="Sniffed from the bytes, not taken from the upload.")
    size_bytes: int
    sha256: str = Field(description="Hex SHA-256 of the content, verified on every download.")
    has_thumbnail: bool
    gps_removed: bool = Field(description="The image carried GPS data, which was removed on upload.")
    retain_until: datetime | None = Field(description="Kept at least until (legal minimum), if any.")
    uploaded_by: uuid.UUID
    created_at: datetime
    version: int


class UploadRead(DocumentRead):
    checklist_item_received: bool = Field(
        default=False, description="The claim checklist item was marked received by this upload."
    )
    offered_actions: list[OfferedAction] = Field(default_factory=list)


class DocumentPage(BaseModel):
    items: list[DocumentRead]
    next_cursor: str | None


class DocumentEvent(BaseModel):
    """What the audit log, the events and the changes feed carry: metadata, never the file or its name."""

    id: uuid.UUID
    record_type: RecordType
    record_id: uuid.UUID
    client_id: uuid.UUID | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    kind: DocumentKind
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime
    deleted_at: datetime | None
    version: int
