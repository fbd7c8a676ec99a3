"""HTTP routes of the documents service: upload, list per record, metadata, download, thumbnail,
delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from crmkit.clock import utc_now
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from services.documents import service
from services.documents.dependencies import (
    ChangedDocument,
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ToolsDep,
    ValidDocument,
    VisibleRecord,
    WritableRecord,
    WriterDep,
)
from services.documents.errors import ThumbnailNotFound
from services.documents.filenames import content_disposition
from services.documents.kinds import ALLOWED, DocumentKind, RecordType
from services.documents.schemas import DocumentRead, OfferedAction, UploadRead
from services.documents.upload_stream import FilePart

BASE = "/api/v1/documents"
ITEM = BASE + "/{document_id:uuid}"
router = APIRouter(prefix="", tags=["documents"], responses=PROBLEM_RESPONSES)

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "title": "DocumentUpload",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment, in its sniffed type.",
        "content": {mime: _BINARY for mime in ALLOWED},
    }
}
THUMBNAIL_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "A JPEG preview, at most 320 px.", "content": {"image/jpeg": _BINARY}}
}
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


@router.post(BASE, status_code=status.HTTP_201_CREATED, openapi_extra=UPLOAD_BODY)
async def documents_upload(
    request: Request,
    record: WritableRecord,
    kind: Annotated[DocumentKind, Query(description="What the file is.")],
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    directory: DirectoryDep,
    response: Response,
) -> UploadRead:
    """Upload one file (multipart part `file`) to the record named in the query. The type is sniffed
    from the bytes (PDF, JPEG, PNG, WEBP, HEIC, Word, Excel), limits are per type (413), images lose
    their GPS data and get a thumbnail. A claim checklist item's file marks the item received; a
    requirement's file offers to resolve it."""
    part = await FilePart.start(request)
    marked: list[bool] = []

    async def mark_received() -> None:
        marked.append(await directory.mark_item_received(record))

    claim_item = record.ref.record_type is RecordType.CLAIM_DOCUMENT
    document = await service.upload(
        session=session,
        tools=tools,
        principal=principal,
        info=record,
        kind=kind,
        raw_filename=part.filename,
        chunks=part.chunks(),
        now=utc_now(),
        before_commit=mark_received if claim_item else None,
    )
    answer = UploadRead(**service.to_read(tools, document).model_dump())
    ref = record.ref
    answer.checklist_item_received = bool(marked and marked[0])
    if ref.record_type is RecordType.APPLICATION_REQUIREMENT:
        answer.offered_actions.append(
            OfferedAction(
                operation_id="applications_resolve_requirement",
                method="POST",
                href=f"/api/v1/policies/applications/{ref.parent_id}/requirements/{ref.record_id}/resolve",
                body={"status": "received", "resolved_on": utc_now().date().isoformat()},
                description="Mark the requirement received (send the application's ETag as If-Match).",
            )
        )
    response.headers["Location"] = f"{BASE}/{document.id}"
    set_etag(response, document.version)
    return answer


@router.get(BASE)
async def documents_list(
    record: VisibleRecord,
    principal: ReaderDep,
    session: ReplicaSessionDep,
    tools: ToolsDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DocumentRead]:
    """The documents of one record, oldest first (deleted ones left out)."""
    return await service.list_for_record(
        session=session, tools=tools, ref=record.ref, limit=limit, cursor=cursor
    )


@router.get(ITEM)
async def documents_get(document: ValidDocument, tools: ToolsDep, response: Response) -> DocumentRead:
    """One document's metadata; the ETag is its version."""
    set_etag(response, document.version)
    return service.to_read(tools, document)


@router.get(ITEM + "/content", response_class=StreamingResponse, responses=FILE_RESPONSE)
async def documents_download(
    document: ValidDocument, principal: ReaderDep, session: SessionDep, tools: ToolsDep
) -> StreamingResponse:
    """The file, streamed, as an attachment (nosniff); verified against its SHA-256 first (409
    `document-integrity-failed` if it was tampered with). Every download is audited."""
    chunks = await service.verified_stream(tools, document)
    await service.audit_download(session, principal, document)
    headers = {
        **SAFE_HEADERS,
        "Content-Disposition": content_disposition(service.filename_of(tools, document)),
        "Content-Length": str(document.size_bytes),
        "ETag": f'"{document.sha256.hex()}"',
    }
    return StreamingResponse(chunks, media_type=document.content_type, headers=headers)


@router.get(ITEM + "/thumbnail", response_class=StreamingResponse, responses=THUMBNAIL_RESPONSE)
async def documents_thumbnail(
    document: ValidDocument, principal: ReaderDep, session: SessionDep, tools: ToolsDep
) -> StreamingResponse:
    """A JPEG preview, at most 320 px on its longest edge (images only; 404 otherwise)."""
    if document.thumbnail_sealed_size is None:
        raise ThumbnailNotFound()
    chunks = await service.verified_stream(tools, document, thumbnail=True)
    await service.audit_download(session, principal, document, what="thumbnail")
    headers = {**SAFE_HEADERS, "Content-Disposition": content_disposition("thumbnail.jpg")}
    return StreamingResponse(chunks, media_type="image/jpeg", headers=headers)


@router.delete(ITEM, status_code=status.HTTP_204_NO_CONTENT)
async def documents_delete(
    document: ChangedDocument,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    if_match: IfMatchHeader = None,
) -> None:
    """Delete (soft): gone from every read at once; the content is purged after the grace period,
    contracts and receipts only after their legal minimum. Requires If-Match."""
    check_if_match(if_match, document.version)
    await service.delete(session=session, tools=tools, principal=principal, document=document)
