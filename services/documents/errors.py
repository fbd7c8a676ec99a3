"""Domain errors of the documents service; each knows its status code."""

from __future__ import annotations

from crmkit.problems import Conflict, FieldError, NotFound, PayloadTooLarge, ProblemError, Unprocessable


class DocumentNotFound(NotFound):
    """Absent, deleted, or on a record outside the caller's scope: indistinguishable on purpose."""

    def __init__(self) -> None:
        super().__init__("no such document")


class RecordNotFound(NotFound):
    """The record to attach to is absent or outside the caller's scope (404, never 403)."""

    def __init__(self, record: str) -> None:
        super().__init__(f"no such {record}")


class ThumbnailNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("this document has no thumbnail (only images have one)")


class InvalidField(Unprocessable):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class EmptyFile(Unprocessable):
    slug = "empty-file"

    def __init__(self) -> None:
        super().__init__("file: the file is empty", errors=[FieldError(field="file", message="is empty")])


class UnsupportedFileType(ProblemError):
    status, title, slug = 415, "Unsupported file type", "unsupported-file-type"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[FieldError(field="file", message=detail)])


class FileTooLarge(PayloadTooLarge):
    """Over the limit of its type (``max_pdf_bytes``...): the partial object is removed."""


class IntegrityFailed(Conflict):
    """The stored object no longer matches what was uploaded (tampered, truncated, swapped): it is
    not served. 409: the document exists, but its current state prevents the download."""

    title = "The stored file failed its integrity check"
    slug = "document-integrity-failed"

    def __init__(self) -> None:
        super().__init__(
            "the stored file failed its integrity check (SHA-256 and authenticated encryption) and is"
            " not served; the incident is logged for the administrators"
        )


class NotMultipart(ProblemError):
    """The upload's body is not ``multipart/form-data`` (JSON, a bare file): the shared 415 type."""

    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"

    def __init__(self) -> None:
        super().__init__(
            "send the file as multipart/form-data with one part named 'file'",
            headers={"Accept": "multipart/form-data"},
        )
