"""What may be stored: the file types of the allow-list (sniffed from bytes, never from a name or
a declared Content-Type), the records a document attaches to, and what a document is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import filetype  # type: ignore[import-untyped]

SNIFF_BYTES = 8192
"""How much of the head the sniffer needs (an OOXML zip names its parts near the start)."""


class Family(StrEnum):
    PDF = "pdf"
    IMAGE = "image"
    OFFICE = "office"


@dataclass(frozen=True, slots=True)
class FileType:
    mime: str
    extension: str
    family: Family


ALLOWED: dict[str, FileType] = {
    t.mime: t
    for t in (
        FileType("application/pdf", "pdf", Family.PDF),
        FileType("image/jpeg", "jpg", Family.IMAGE),
        FileType("image/png", "png", Family.IMAGE),
        FileType("image/webp", "webp", Family.IMAGE),
        FileType("image/heic", "heic", Family.IMAGE),
        FileType(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", Family.OFFICE
        ),
        FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", Family.OFFICE),
    )
}
"""PDF, JPEG, PNG, WEBP, HEIC, and Word and Excel (OOXML) documents: nothing else."""


def sniff(head: bytes) -> FileType | None:
    """The type the bytes really are, if it is one we take; ``None`` for anything else (an
    executable renamed ``.pdf``, an HTML page saved as PDF, a plain zip...)."""
    if head.startswith(b"%PDF-"):
        return ALLOWED["application/pdf"]
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = "image/heic" if kind.mime == "image/heif" else kind.mime
    return ALLOWED.get(mime)


class RecordType(StrEnum):
    """The record a document belongs to, and the service that owns it."""

    CLIENT = "client"
    COMPLAINT = "complaint"
    APPLICATION_REQUIREMENT = "application_requirement"
    POLICY = "policy"
    CLAIM_DOCUMENT = "claim_document"


NEEDS_PARENT = {
    RecordType.COMPLAINT: "client",
    RecordType.APPLICATION_REQUIREMENT: "application",
    RecordType.CLAIM_DOCUMENT: "claim",
}
"""A nested record is named with its parent's id (``parent_id``): the complaint's client, the
requirement's application, the checklist item's claim."""


class DocumentKind(StrEnum):
    """What the file is (the issue's list, after manual 四.2, 四.3, 五.2, 六.3)."""

    ID_COPY = "id_copy"
    DIAGNOSIS_CERTIFICATE = "diagnosis_certificate"
    MEDICAL_RECORDS = "medical_records"
    EXAM_REPORT = "exam_report"
    SIGNED_APPLICATION = "signed_application"
    CONTRACT = "contract"
    RECEIPT = "receipt"
    COMMUNICATION_RECORD = "communication_record"
    OTHER = "other"


LEGAL_RETENTION = frozenset({DocumentKind.CONTRACT, DocumentKind.RECEIPT, DocumentKind.SIGNED_APPLICATION})
"""Kept for the legal minimum (``contract_retention_years``) even when deleted or when the client
is purged: 保险法 §87 (books, original vouchers and materials of the business; from the contract's
end, ≥5 years for cover of one year or less, ≥10 years beyond) and 保险代理人监管规定 (2020) on
agents' business files, the same periods."""
