"""Shapes of the CSV import: the dry-run report and the job."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class ImportState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RowError(BaseModel):
    """One problem with one row; ``row`` is the spreadsheet row number (the header is row 1)."""

    row: int
    field: str
    message: str


class DryRunReport(BaseModel):
    """What a real import of this file would do; nothing was stored."""

    dry_run: bool = True
    rows_total: int
    rows_valid: int
    rows_failed: int
    columns: list[str]
    errors: list[RowError]


class ImportJobRead(BaseModel):
    """A real import's progress; the error report is at ``errors_url`` (CSV)."""

    id: uuid.UUID
    state: ImportState
    rows_total: int
    rows_done: int
    rows_failed: int
    rows_created: int
    consent_text_version: str | None
    failure: str | None
    owner_agent_id: uuid.UUID
    created_at: datetime
    finished_at: datetime | None
    errors_url: str
