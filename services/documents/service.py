"""Storing, reading and removing documents: the upload pipeline, the verified download, deletion
and purges. The request's session is committed here only where storage and rows must agree."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit import audit
from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.crypto import FieldCipher
from crmkit.pagination import Page, read_cursor, trim
from services.documents import images, pdf_preview
from services.documents.config import Settings
from services.documents.errors import (
    EmptyFile,
    FileTooLarge,
    IntegrityFailed,
    InvalidField,
    UnsupportedFileType,
)
from services.documents.filenames import is_traversal, sanitise
from services.documents.kinds import LEGAL_RETENTION, SNIFF_BYTES, DocumentKind, Family, FileType, sniff
from services.documents.models import Document, infra_tables
from services.documents.peers import RecordInfo, RecordRef
from services.documents.schemas import DocumentEvent, DocumentRead, RecordRead
from services.documents.sealing import DataKey, IntegrityError, Sealer, open_stream, sealed_size
from services.documents.storage import ObjectMissing, ObjectWriter, Storage

log = logging.getLogger("documents")
FILENAME_CONTEXT = "documents.filename"
THUMB = ".thumb"


@dataclass(frozen=True, slots=True)
class Tools:
    settings: Settings
    cipher: FieldCipher
    storage: Storage


def limit_for(settings: Settings, file_type: FileType) -> int:
    return {
        Family.PDF: settings.max_pdf_bytes,
        Family.IMAGE: settings.max_image_bytes,
        Family.OFFICE: settings.max_office_bytes,
    }[file_type.family]


def filename_of(tools: Tools, document: Document) -> str:
    if document.filename_sealed is None:
        return f"document.{document.content_type.rsplit('/', 1)[-1]}"
    return tools.cipher.decrypt(document.filename_sealed, context=FILENAME_CONTEXT)


def to_read(tools: Tools, document: Document) -> DocumentRead:
    return DocumentRead(
        id=document.id,
        record=RecordRead(type=document.record_type, id=document.record_id, parent_id=document.parent_id),
        client_id=document.client_id,
        kind=DocumentKind(document.kind),
        filename=filename_of(tools, document),
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256.hex(),
        has_thumbnail=document.thumbnail_sealed_size is not None,
        gps_removed=document.gps_removed,
        retain_until=document.retain_until,
        uploaded_by=document.uploaded_by,
        created_at=document.created_at,
        version=document.version,
    )


def to_event(document: Document) -> dict[str, object]:
    """Audited (and so published) metadata: no content, no filename."""
    return DocumentEvent(
        id=document.id,
        record_type=document.record_type,
        record_id=document.record_id,
        client_id=document.client_id,
        owner_agent_id=document.owner_agent_id,
        team_id=document.team_id,
        kind=DocumentKind(document.kind),
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256.hex(),
        created_at=document.created_at,
        deleted_at=document.deleted_at,
        version=document.version,
    ).model_dump(mode="json")


async def _head(chunks: AsyncIterator[bytes]) -> tuple[bytes, bool]:
    """The first ``SNIFF_BYTES`` (or fewer, if the file is that small) and whether more follow."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            return bytes(head), True
    return bytes(head), False


class _Upload:
    """The objects one upload wrote; removed again unless the row commits."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.open: list[ObjectWriter] = []
        self.written: list[str] = []

    async def put(self, key: str, sealer: Sealer, chunks: AsyncIterator[bytes], *, limit: int) -> None:
        writer = await self.storage.writer(key)
        self.open.append(writer)
        async for chunk in chunks:
            sealed = sealer.update(chunk)
            if sealer.size > limit:
                raise FileTooLarge(f"the file exceeds the limit of its type ({limit} bytes)")
            if sealed:
                await writer.write(sealed)
        await writer.write(sealer.finish())
        await writer.commit()
        self.open.remove(writer)
        self.written.append(key)

    async def undo(self) -> None:
        for writer in self.open:
            with contextlib.suppress(Exception):
                await writer.abort()
        for key in self.written:
            with contextlib.suppress(Exception):
                await self.storage.delete(key)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _then(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk


@dataclass
class _Copy:
    """A local copy of an upload's first ``limit`` bytes; ``whole`` while the file fits in it."""

    file: IO[bytes]
    limit: int
    size: int = 0

    @property
    def whole(self) -> bool:
        return self.size <= self.limit


async def _copied_to(chunks: AsyncIterator[bytes], copy: _Copy) -> AsyncIterator[bytes]:
    """The chunks as they come, each also written to the copy until it passes its limit."""
    async for chunk in chunks:
        copy.size += len(chunk)
        if copy.whole:
            copy.file.write(chunk)
        yield chunk


async def upload(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    info: RecordInfo,
    kind: DocumentKind,
    raw_filename: str | None,
    chunks: AsyncIterator[bytes],
    now: datetime,
    before_commit: Callable[[], Awaitable[object]] | None = None,
) -> Document:
    """Sniff, check, seal and store the file, then the row; any refusal leaves nothing behind."""
    if is_traversal(raw_filename):
        raise InvalidField("filename", "a file name, not a path (no '/', '\\', '..' or drive letter)")
    head, more = await _head(chunks)
    if not head:
        raise EmptyFile()
    file_type = sniff(head)
    if file_type is None:
        raise UnsupportedFileType(
            "the file's content is not PDF, JPEG, PNG, WEBP, HEIC, Word or Excel (checked from its bytes,"
            " whatever its name says)"
        )
    limit = limit_for(tools.settings, file_type)
    document_id = uuid.uuid4()
    object_key = uuid.uuid4().hex
    key = DataKey.new()
    pending = _Upload(tools.storage)
    gps_removed = False
    thumb_size: int | None = None
    thumb_digest: bytes | None = None
    try:
        if file_type.family is Family.IMAGE:
            whole = bytearray(head)
            if more:
                async for chunk in chunks:
                    whole += chunk
                    if len(whole) > limit:
                        raise FileTooLarge(f"the file exceeds the limit of its type ({limit} bytes)")
            if len(whole) > limit:
                raise FileTooLarge(f"the file exceeds the limit of its type ({limit} bytes)")
            try:
                prepared = await asyncio.to_thread(images.prepare, bytes(whole), file_type.mime)
            except images.UnreadableImage as exc:
                raise InvalidField("file", str(exc)) from exc
            del whole
            gps_removed = prepared.gps_removed
            sealer = Sealer(key, object_key=object_key)
            await pending.put(object_key, sealer, _once(prepared.content), limit=limit)
            thumb_sealer = Sealer(key, object_key=object_key + THUMB)
            await pending.put(object_key + THUMB, thumb_sealer, _once(prepared.thumbnail), limit=limit)
            thumb_size, thumb_digest = thumb_sealer.size, thumb_sealer.digest.digest()
        elif file_type.family is Family.PDF:
            # Streamed to storage and, beside it, to a temporary file the first page is drawn from.
            with tempfile.NamedTemporaryFile(prefix="crm-pdf-", suffix=".pdf") as spool:
                sealer = Sealer(key, object_key=object_key)
                stream = _then(head, chunks) if more else _once(head)
                copy = _Copy(spool, pdf_preview.MAX_PDF_BYTES)
                await pending.put(object_key, sealer, _copied_to(stream, copy), limit=limit)
                spool.flush()
                preview = None
                if copy.whole:  # a larger PDF gets no preview: PDFium may read it whole into memory
                    preview = await asyncio.to_thread(pdf_preview.first_page_jpeg, Path(spool.name))
            if preview is not None:
                thumb_sealer = Sealer(key, object_key=object_key + THUMB)
                await pending.put(object_key + THUMB, thumb_sealer, _once(preview), limit=limit)
                thumb_size, thumb_digest = thumb_sealer.size, thumb_sealer.digest.digest()
        else:
            sealer = Sealer(key, object_key=object_key)
            await pending.put(object_key, sealer, _then(head, chunks) if more else _once(head), limit=limit)

        retain_until = None
        if kind in LEGAL_RETENTION:
            retain_until = now + timedelta(days=365 * tools.settings.contract_retention_years + 3)
        name = sanitise(raw_filename, extension=file_type.extension)
        document = Document(
            id=document_id,
            record_type=info.ref.record_type.value,
            record_id=info.ref.record_id,
            parent_id=info.ref.parent_id,
            client_id=info.client_id,
            owner_agent_id=info.owner_agent_id,
            team_id=info.team_id,
            kind=kind.value,
            filename_sealed=tools.cipher.encrypt(name, context=FILENAME_CONTEXT),
            content_type=file_type.mime,
            size_bytes=sealer.size,
            sha256=sealer.digest.digest(),
            object_key=object_key,
            sealed_size=_sealed_length(sealer.size),
            data_key_sealed=key.wrap(tools.cipher, object_key=object_key),
            thumbnail_sealed_size=_sealed_length(thumb_size) if thumb_size is not None else None,
            thumbnail_sha256=thumb_digest,
            gps_removed=gps_removed,
            storage_backend=tools.storage.name,
            retain_until=retain_until,
            uploaded_by=principal.user_id,
            created_at=now,
        )
        session.add(document)
        await session.flush()
        await audit.record(
            session,
            infra_tables.audit_log,
            principal=principal,
            action="document.uploaded",
            resource_type="document",
            resource_id=document.id,
            after=to_event(document),
        )
        if before_commit is not None:  # e.g. claims marks the item received; if it fails, nothing stays
            await before_commit()
        await session.commit()
    except BaseException:
        await pending.undo()
        raise
    return document


def _sealed_length(size: int) -> int:
    return sealed_size(size)


def _key_of(tools: Tools, document: Document, object_key: str) -> DataKey:
    if document.data_key_sealed is None:
        raise IntegrityFailed()
    try:
        return DataKey.unwrap(tools.cipher, document.data_key_sealed, object_key=document.object_key)
    except IntegrityError:
        _integrity_alarm(document, object_key, "data key")
        raise IntegrityFailed() from None


def _integrity_alarm(document: Document, object_key: str, reason: str) -> None:
    log.error(
        "document failed integrity check",
        extra={"document_id": str(document.id), "object_key": object_key, "reason": reason},
    )


def _plaintext(
    tools: Tools, document: Document, object_key: str, sealed_length: int, sha256: bytes
) -> AsyncIterator[bytes]:
    key = _key_of(tools, document, object_key)
    return open_stream(
        tools.storage.read(object_key), key, object_key=object_key, sealed_length=sealed_length, sha256=sha256
    )


async def verified_stream(
    tools: Tools, document: Document, *, thumbnail: bool = False
) -> AsyncIterator[bytes]:
    """The content, after a first full pass proved it intact (so a tampered object is a problem
    answer, never a half-sent file): the second pass streams it, checking again as it goes."""
    object_key = document.object_key + (THUMB if thumbnail else "")
    if thumbnail:
        assert document.thumbnail_sealed_size is not None
        assert document.thumbnail_sha256 is not None
        length, digest = document.thumbnail_sealed_size, document.thumbnail_sha256
    else:
        length, digest = document.sealed_size, document.sha256
    try:
        async for _ in _plaintext(tools, document, object_key, length, digest):
            pass
    except (IntegrityError, ObjectMissing) as exc:
        _integrity_alarm(document, object_key, str(exc) or type(exc).__name__)
        raise IntegrityFailed() from None
    return _guarded(_plaintext(tools, document, object_key, length, digest), document, object_key)


async def _guarded(chunks: AsyncIterator[bytes], document: Document, object_key: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    except (IntegrityError, ObjectMissing) as exc:  # changed between the two passes: cut the answer
        _integrity_alarm(document, object_key, f"during streaming: {exc}")
        raise


async def audit_download(
    session: AsyncSession, principal: Principal, document: Document, *, what: str = "content"
) -> None:
    """Who downloaded what, when: an audit row (not published as an event: it records a read)."""
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="document.downloaded",
        resource_type="document",
        resource_id=document.id,
        after={"what": what, "sha256": document.sha256.hex(), "record_type": document.record_type},
    )
    await session.commit()


async def delete(*, session: AsyncSession, tools: Tools, principal: Principal, document: Document) -> None:
    """Soft delete: gone from every read at once; the content is purged after the grace period, or
    after the legal minimum for contracts and receipts, whichever is later."""
    before = to_event(document)
    now = utc_now()
    document.deleted_at = now
    document.purge_after = max(
        now + timedelta(days=tools.settings.deleted_retention_days), document.retain_until or now
    )
    document.version += 1
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="document.deleted",
        resource_type="document",
        resource_id=document.id,
        before=before,
        after=to_event(document),
    )


async def list_for_record(
    *, session: AsyncSession, tools: Tools, ref: RecordRef, limit: int, cursor: str | None
) -> Page[DocumentRead]:
    after = read_cursor(cursor, datetime, uuid.UUID)
    stmt = select(Document).where(
        col(Document.record_type) == ref.record_type.value,
        col(Document.record_id) == ref.record_id,
        col(Document.deleted_at).is_(None),
    )
    if after is not None:
        stmt = stmt.where(tuple_(col(Document.created_at), col(Document.id)) > tuple_(*after))
    rows = list(
        (await session.execute(stmt.order_by(col(Document.created_at), col(Document.id)).limit(limit + 1)))
        .scalars()
        .all()
    )
    page, next_cursor = trim(rows, limit, key=lambda d: (d.created_at, d.id))
    return Page[DocumentRead](items=[to_read(tools, d) for d in page], next_cursor=next_cursor)


async def purge_due(*, session: AsyncSession, tools: Tools, principal: Principal, now: datetime) -> int:
    """Content of documents past their purge date removed from storage; the row stays as a
    tombstone without its name or key (the audit trail keeps what it was). Each row is taken once
    however many replicas run (``SKIP LOCKED``)."""
    stmt = (
        select(Document)
        .where(
            col(Document.purged_at).is_(None),
            col(Document.purge_after).is_not(None),
            col(Document.purge_after) <= now,
            or_(col(Document.retain_until).is_(None), col(Document.retain_until) <= now),
        )
        .limit(200)
        .with_for_update(skip_locked=True)
    )
    documents = list((await session.execute(stmt)).scalars().all())
    for document in documents:
        await tools.storage.delete(document.object_key)
        if document.thumbnail_sealed_size is not None:
            await tools.storage.delete(document.object_key + THUMB)
        document.purged_at = now
        document.filename_sealed = None
        document.data_key_sealed = None
        await audit.record(
            session,
            infra_tables.audit_log,
            principal=principal,
            action="document.purged",
            resource_type="document",
            resource_id=document.id,
            after={"purged_at": now.isoformat(), "client_id": str(document.client_id)},
        )
    await session.commit()
    return len(documents)


async def forget_client(
    *, session: AsyncSession, tools: Tools, principal: Principal, client_id: uuid.UUID, now: datetime
) -> int:
    """A deleted client's documents go with it: deleted now and purged at the next sweep, except
    those the law keeps (contracts, receipts, signed applications), purged when their period ends."""
    stmt = select(Document).where(
        col(Document.client_id) == client_id,
        col(Document.purged_at).is_(None),
        or_(col(Document.deleted_at).is_(None), and_(col(Document.purge_after) > now)),
    )
    documents = list((await session.execute(stmt.with_for_update())).scalars().all())
    for document in documents:
        before = to_event(document)
        document.deleted_at = document.deleted_at or now
        document.purge_after = max(now, document.retain_until or now)
        document.version += 1
        await audit.record(
            session,
            infra_tables.audit_log,
            principal=principal,
            action="document.deleted",
            resource_type="document",
            resource_id=document.id,
            before=before,
            after={**to_event(document), "reason": "client deleted"},
        )
    await session.flush()
    return len(documents)


ORPHAN_AGE = timedelta(hours=1)
"""An upload writes its object before its row commits; an object this old without a live row was
left by a process that died in between (or a purge cut short), and is removed."""


async def sweep_orphans(*, session: AsyncSession, tools: Tools, now: datetime) -> int:
    listing = [(key, at) for key, at in await tools.storage.listing() if at <= now - ORPHAN_AGE]
    if not listing:
        return 0
    bases = {key.removesuffix(".partial").removesuffix(THUMB) for key, _ in listing}
    stmt = select(col(Document.object_key)).where(
        col(Document.object_key).in_(bases), col(Document.purged_at).is_(None)
    )
    live = set((await session.execute(stmt)).scalars().all())
    removed = 0
    for key, _ in listing:
        if key.endswith(".partial") or key.removesuffix(THUMB) not in live:
            await tools.storage.delete(key)
            removed += 1
    if removed:
        log.warning("orphan objects removed", extra={"removed": removed})
    return removed
