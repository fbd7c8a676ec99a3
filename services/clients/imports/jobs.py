"""Checking rows and storing clients in batches, and the background job that does a real import.

The job runs as an asyncio task of the service process with its own sessions; each batch of
``BATCH_ROWS`` rows commits on its own (multi-row INSERTs), so progress is visible as it goes.
A process that dies mid-import leaves its job ``running`` with a stale heartbeat: the next start
of any replica marks it failed (``sweep_interrupted``). Its committed batches stay; uploading the
same file again imports the rest (rows already imported are reported as existing duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col

from crmkit.auth import Principal
from crmkit.context import request_id_var
from services.clients.identifiers import RESIDENT_ID_CONTEXT, mask_phone
from services.clients.imports.reading import CsvRow
from services.clients.imports.schemas import ImportState, RowError
from services.clients.imports.validation import Seen, ValidRow, check_row, existing_duplicates
from services.clients.models import Client, Consent, ImportJob, ImportRowError, infra_tables
from services.clients.schemas import Channel, ClientRead
from services.clients.tools import Tools

log = logging.getLogger("clients.imports")
BATCH_ROWS = 500
STALE_AFTER = timedelta(minutes=2)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model: plain multi-row INSERTs, no ORM bookkeeping per row."""
    table: Table = getattr(model, "__table__")  # noqa: B009 - SQLModel does not declare it
    return table


@dataclass(frozen=True, slots=True)
class ImportOptions:
    consent_text_version: str | None
    default_channel: Channel


async def check_rows(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    rows: Sequence[CsvRow],
    options: ImportOptions,
    seen: Seen,
) -> tuple[list[ValidRow], list[RowError]]:
    """The rows that may be stored, and every error of the others (in row order)."""
    today = tools.clock.today()
    valid: list[ValidRow] = []
    errors: list[RowError] = []
    for row in rows:
        checked, row_errors = check_row(
            row,
            cipher=tools.cipher,
            consent_text_version=options.consent_text_version,
            default_channel=options.default_channel,
            today=today,
            seen=seen,
        )
        errors.extend(row_errors)
        if checked is not None:
            valid.append(checked)
    valid, clashes = await existing_duplicates(session=session, principal=principal, rows=valid)
    errors.extend(clashes)
    errors.sort(key=lambda e: e.row)
    return valid, errors


async def store_clients(
    *, session: AsyncSession, tools: Tools, principal: Principal, rows: Sequence[ValidRow], job_id: uuid.UUID
) -> None:
    """One multi-row INSERT each for the clients, their consents and their audit rows."""
    if not rows:
        return
    now = tools.clock.now()
    clients: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for row in rows:
        data = row.data
        client_id = uuid.uuid4()
        document, phone = row.document, data.phone
        values: dict[str, Any] = {
            "id": client_id,
            "owner_agent_id": principal.user_id,
            "team_id": principal.team_id,
            "name": data.name,
            "gender": data.gender.value,
            "birth_date": row.birth_date,
            "resident_id_cipher": (
                tools.cipher.encrypt(document.number, context=RESIDENT_ID_CONTEXT) if document else None
            ),
            "resident_id_hmac": row.resident_id_hmac,
            "resident_id_masked": document.masked if document else None,
            "id_document_type": document.type.value if document else None,
            "id_document_country": document.country if document else None,
            "phone_cipher": tools.cipher.encrypt(phone, context="clients.phone") if phone else None,
            "phone_hmac": row.phone_hmac,
            "phone_masked": mask_phone(phone) if phone else None,
            "occupation": data.occupation,
            "occupation_class": data.occupation_class,
            "channel": data.channel.value,
            "referred_by_client_id": None,
            "notes": data.notes,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        clients.append(values)
        view = ClientRead(
            id=client_id,
            name=data.name,
            gender=data.gender,
            birth_date=row.birth_date,
            id_document_type=document.type if document else None,
            id_document_number=values["resident_id_masked"],
            id_document_country=values["id_document_country"],
            resident_id=values["resident_id_masked"] if document and document.type == "resident_id" else None,
            phone=values["phone_masked"],
            occupation=data.occupation,
            occupation_class=data.occupation_class,
            channel=data.channel,
            referred_by_client_id=None,
            notes=data.notes,
            tier=None,
            next_follow_up_on=None,
            owner_agent_id=principal.user_id,
            team_id=principal.team_id,
            version=1,
            created_at=now,
            updated_at=now,
        ).model_dump(mode="json")
        view["import_job_id"] = str(job_id)
        if data.consent is not None:
            consent_id = uuid.uuid4()
            consents.append(
                {
                    "id": consent_id,
                    "client_id": client_id,
                    "purpose": data.consent.purpose.value,
                    "text_version": data.consent.text_version,
                    "given_at": now,
                    "recorded_by": principal.actor,
                    "version": 1,
                    "created_at": now,
                }
            )
            view["consent"] = {
                "purpose": data.consent.purpose.value,
                "text_version": data.consent.text_version,
            }
        audits.append(
            {
                "actor": principal.actor,
                "actor_role": principal.role.value,
                "action": "client.created",
                "resource_type": "client",
                "resource_id": client_id,
                "before": None,
                "after": view,
                "request_id": request_id_var.get(),
            }
        )
    await session.execute(insert(table_of(Client)), clients)
    if consents:
        await session.execute(insert(table_of(Consent)), consents)
    await session.execute(insert(infra_tables.audit_log), audits)


async def _store_errors(session: AsyncSession, job_id: uuid.UUID, errors: Sequence[RowError]) -> None:
    if errors:
        await session.execute(
            insert(table_of(ImportRowError)),
            [
                {"job_id": job_id, "row_number": e.row, "field": e.field, "message": e.message[:500]}
                for e in errors
            ],
        )


async def _finish(
    sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID, state: ImportState, failure: str | None
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session:
        await session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job_id)
            .values(state=state.value, failure=failure, finished_at=now, heartbeat_at=now)
        )
        await session.commit()


async def run_import(
    *,
    sessions: async_sessionmaker[AsyncSession],
    tools: Tools,
    principal: Principal,
    job_id: uuid.UUID,
    rows: Sequence[CsvRow],
    options: ImportOptions,
    request_id: str | None,
) -> None:
    """The job: batch after batch, each committed with the job's counters; failed on any crash."""
    request_id_var.set(request_id)
    seen = Seen()
    try:
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            async with sessions() as session:
                valid, errors = await check_rows(
                    session=session, tools=tools, principal=principal, rows=batch, options=options, seen=seen
                )
                await store_clients(
                    session=session, tools=tools, principal=principal, rows=valid, job_id=job_id
                )
                await _store_errors(session, job_id, errors)
                failed_rows = len({e.row for e in errors})
                await session.execute(
                    update(ImportJob)
                    .where(col(ImportJob.id) == job_id)
                    .values(
                        rows_done=col(ImportJob.rows_done) + len(batch),
                        rows_failed=col(ImportJob.rows_failed) + failed_rows,
                        rows_created=col(ImportJob.rows_created) + len(valid),
                        heartbeat_at=tools.clock.now(),
                    )
                )
                await session.commit()
    except asyncio.CancelledError:
        await _finish(
            sessions, job_id, ImportState.FAILED, "interrupted by a shutdown; upload the file again"
        )
        raise
    except Exception:
        log.exception("import job failed", extra={"job_id": str(job_id)})
        await _finish(sessions, job_id, ImportState.FAILED, "the import stopped on an internal error")
        return
    await _finish(sessions, job_id, ImportState.SUCCEEDED, None)


def start(app: FastAPI, **job: Any) -> None:
    """Run ``run_import`` in the background, holding a reference until it ends."""
    tasks: set[asyncio.Task[None]] = app.state.import_tasks
    task = asyncio.create_task(run_import(sessions=app.state.sessions, **job))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def sweep_interrupted(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Jobs whose process died (no heartbeat for ``STALE_AFTER``) are marked failed."""
    now = datetime.now(UTC)
    async with sessions() as session:
        result: Any = await session.execute(
            update(ImportJob)
            .where(
                col(ImportJob.state) == ImportState.RUNNING.value,
                col(ImportJob.heartbeat_at) < now - STALE_AFTER,
            )
            .values(
                state=ImportState.FAILED.value,
                failure="interrupted (the service stopped); upload the file again to import the rest",
                finished_at=now,
            )
        )
        await session.commit()
        return int(result.rowcount)


@contextlib.asynccontextmanager
async def imports_hook(app: FastAPI) -> AsyncIterator[None]:
    """Background imports of this process: swept at start, cancelled (and marked failed) at stop."""
    app.state.import_tasks = set()
    try:
        swept = await sweep_interrupted(app.state.sessions)
        if swept:
            log.warning("interrupted import jobs marked failed", extra={"jobs": swept})
    except Exception:  # the database may not be ready yet; the next start sweeps
        log.warning("could not sweep interrupted import jobs", exc_info=True)
    try:
        yield
    finally:
        tasks: set[asyncio.Task[None]] = app.state.import_tasks
        for task in list(tasks):
            task.cancel()
        for task in list(tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
