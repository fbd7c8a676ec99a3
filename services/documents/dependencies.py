"""Request dependencies: the caller, the tools, the record named in the query (in scope, or 404),
and the document named in the path (alive, on a record the caller may see, or 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import select
from sqlmodel import col

from crmkit.auth import Principal, require_scope
from crmkit.db import SessionDep
from services.documents.errors import DocumentNotFound, InvalidField, RecordNotFound
from services.documents.kinds import NEEDS_PARENT, RecordType
from services.documents.models import Document
from services.documents.peers import RecordDirectory, RecordInfo, RecordRef
from services.documents.service import Tools

__all__ = ["ReaderDep", "SessionDep", "ToolsDep", "WriterDep"]

ReaderDep = Annotated[Principal, require_scope("documents:read")]
WriterDep = Annotated[Principal, require_scope("documents:write")]


async def get_tools(request: Request) -> Tools:
    state = request.app.state
    return Tools(settings=state.settings, cipher=state.cipher, storage=state.storage)


ToolsDep = Annotated[Tools, Depends(get_tools)]


async def get_directory(request: Request) -> RecordDirectory:
    return RecordDirectory(
        http=request.app.state.peer_http,
        settings=request.app.state.settings,
        authorization=request.headers.get("authorization"),
    )


DirectoryDep = Annotated[RecordDirectory, Depends(get_directory)]


async def record_ref(
    record_type: Annotated[RecordType, Query(description="What the document is attached to.")],
    record_id: Annotated[uuid.UUID, Query(description="That record's id.")],
    parent_id: Annotated[
        uuid.UUID | None,
        Query(
            description="For a complaint: its client; for an application requirement: its application;"
            " for a claim checklist item: its claim."
        ),
    ] = None,
) -> RecordRef:
    needed = NEEDS_PARENT.get(record_type)
    if needed is not None and parent_id is None:
        raise InvalidField("parent_id", f"required for a {record_type.value}: the {needed}'s id")
    if needed is None and parent_id is not None:
        raise InvalidField("parent_id", f"not used for a {record_type.value}")
    return RecordRef(record_type, record_id, parent_id)


RecordRefDep = Annotated[RecordRef, Depends(record_ref)]


async def visible_record(ref: RecordRefDep, principal: ReaderDep, directory: DirectoryDep) -> RecordInfo:
    return await directory.resolve(ref)


async def writable_record(ref: RecordRefDep, principal: WriterDep, directory: DirectoryDep) -> RecordInfo:
    return await directory.resolve(ref)


VisibleRecord = Annotated[RecordInfo, Depends(visible_record)]
WritableRecord = Annotated[RecordInfo, Depends(writable_record)]
DocumentId = Annotated[uuid.UUID, Path(description="The document's id.")]


async def _document(
    document_id: uuid.UUID, session: SessionDep, directory: RecordDirectory, *, for_update: bool = False
) -> Document:
    stmt = select(Document).where(col(Document.id) == document_id, col(Document.deleted_at).is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    document = (await session.execute(stmt)).scalar_one_or_none()
    if document is None:
        raise DocumentNotFound()
    ref = RecordRef(RecordType(document.record_type), document.record_id, document.parent_id)
    try:
        await directory.resolve(ref)  # scoped like its record, as the record is now
    except RecordNotFound:
        raise DocumentNotFound() from None
    return document


async def valid_document(
    document_id: DocumentId, principal: ReaderDep, session: SessionDep, directory: DirectoryDep
) -> Document:
    return await _document(document_id, session, directory)


async def document_to_change(
    document_id: DocumentId, principal: WriterDep, session: SessionDep, directory: DirectoryDep
) -> Document:
    return await _document(document_id, session, directory, for_update=True)


ValidDocument = Annotated[Document, Depends(valid_document)]
ChangedDocument = Annotated[Document, Depends(document_to_change)]
