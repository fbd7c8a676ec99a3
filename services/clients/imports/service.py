"""CSV import: the dry run, starting a real import, and reading a job and its error report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from crmkit.auth import Principal, Role
from crmkit.csv import lines
from crmkit.problems import FieldError, NotFound, Unprocessable
from services.clients.imports import reading
from services.clients.imports.jobs import ImportOptions, check_rows
from services.clients.imports.reading import CsvRow
from services.clients.imports.schemas import DryRunReport, ImportJobRead, ImportState
from services.clients.imports.validation import Seen
from services.clients.models import ImportJob, ImportRowError
from services.clients.tools import Tools

BASE = "/api/v1/clients/imports"
IDENTIFIER_COLUMNS = frozenset({"resident_id", "id_document_number", "phone"})


class ImportJobNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such import job")


def require_consent_basis(columns: list[str], consent_text_version: str | None) -> None:
    """Identifiers are stored only with consent: the agent states the consent form's text version."""
    if IDENTIFIER_COLUMNS & set(columns) and not consent_text_version:
        raise Unprocessable(
            "the file has identity document or phone columns: send consent_text_version, the version of the "
            "consent form every client in the file signed",
            errors=[FieldError(field="consent_text_version", message="required with identifier columns")],
        )


async def dry_run(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    columns: list[str],
    rows: list[CsvRow],
    options: ImportOptions,
) -> DryRunReport:
    """Every row checked as the real import would, nothing stored."""
    valid, errors = await check_rows(
        session=session, tools=tools, principal=principal, rows=rows, options=options, seen=Seen()
    )
    return DryRunReport(
        rows_total=len(rows),
        rows_valid=len(valid),
        rows_failed=len({e.row for e in errors}),
        columns=columns,
        errors=errors,
    )


def read_upload(
    *, content_type: str | None, body: bytes, mapping: str | None, options: ImportOptions
) -> tuple[list[str], list[CsvRow]]:
    """The uploaded file's columns and rows (415, 413 or 422 when it cannot be one)."""
    reading.check_media_type(content_type)
    columns, rows = reading.read_rows(reading.decode(body), reading.parse_mapping(mapping))
    require_consent_basis(columns, options.consent_text_version)
    return columns, rows


async def open_job(
    *,
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    rows_total: int,
    options: ImportOptions,
) -> ImportJob:
    """A running job, committed in its own session: it must exist before its task looks for it."""
    job = new_job(principal=principal, rows_total=rows_total, options=options)
    async with sessions() as own:
        own.add(job)
        await own.commit()
    return job


def new_job(*, principal: Principal, rows_total: int, options: ImportOptions) -> ImportJob:
    """A running job for the caller (the imported clients' owner)."""
    now = datetime.now(UTC)
    return ImportJob(
        owner_agent_id=principal.user_id,
        team_id=principal.team_id,
        state=ImportState.RUNNING.value,
        consent_text_version=options.consent_text_version,
        rows_total=rows_total,
        created_at=now,
        heartbeat_at=now,
    )


def job_to_read(job: ImportJob) -> ImportJobRead:
    return ImportJobRead(
        id=job.id,
        state=ImportState(job.state),
        rows_total=job.rows_total,
        rows_done=job.rows_done,
        rows_failed=job.rows_failed,
        rows_created=job.rows_created,
        consent_text_version=job.consent_text_version,
        failure=job.failure,
        owner_agent_id=job.owner_agent_id,
        created_at=job.created_at,
        finished_at=job.finished_at,
        errors_url=f"{BASE}/{job.id}/errors",
    )


async def get_visible_job(*, session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    """The caller's own job; a team lead's team's; any for an admin. Otherwise 404."""
    job = await session.get(ImportJob, job_id)
    visible = job is not None and (
        principal.role is Role.ADMIN
        or job.owner_agent_id == principal.user_id
        or (principal.role is Role.TEAM_LEAD and job.team_id is not None and job.team_id == principal.team_id)
    )
    if job is None or not visible:
        raise ImportJobNotFound()
    return job


async def error_report(*, session: AsyncSession, job: ImportJob) -> bytes:
    """The job's row errors as CSV (row, field, message), in row order."""
    rows = await session.execute(
        select(col(ImportRowError.row_number), col(ImportRowError.field), col(ImportRowError.message))
        .where(col(ImportRowError.job_id) == job.id)
        .order_by(col(ImportRowError.row_number), col(ImportRowError.id))
    )
    return lines([("row", "field", "message"), *(tuple(row) for row in rows)])
