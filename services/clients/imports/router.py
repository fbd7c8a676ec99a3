"""HTTP endpoints of the CSV import: the file is the request body (``Content-Type: text/csv``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from crmkit.auth import Role, require_roles
from crmkit.context import request_id_var
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from services.clients.dependencies import ReaderDep, SessionDep, ToolsDep, WriterDep
from services.clients.imports import jobs, service
from services.clients.imports.schemas import DryRunReport, ImportJobRead
from services.clients.schemas import Channel

router = APIRouter(
    prefix=service.BASE,
    tags=["imports"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
JobId = Annotated[uuid.UUID, Path(description="The import job's id.")]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
    for code, text in (
        (413, "The file is over 5 MB or 10,000 rows"),
        (415, "The body is not sent as text/csv"),
    )
}
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "The CSV file itself: UTF-8 (with or without BOM) or GBK/GB18030, header row first.",
        # A file, not a JSON string: generated clients take bytes (openapi-python-client's ``File``,
        # with tools/sdk-python/config.yaml mapping text/csv to a byte body; a Blob or string in TS).
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "",
    responses={200: {"model": DryRunReport}, 202: {"model": ImportJobRead}, **_REFUSALS},
    openapi_extra=_CSV_BODY,
)
async def import_clients(
    request: Request,
    principal: WriterDep,
    session: SessionDep,
    tools: ToolsDep,
    dry_run: Annotated[bool, Query(description="`true`: check every row and store nothing.")],
    consent_text_version: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=50,
            description="Required when the file has resident ID or phone columns: the version of the "
            "consent form each client signed (recorded per client, purpose `personal_data`).",
        ),
    ] = None,
    default_channel: Annotated[
        Channel, Query(description="The channel of rows whose channel cell is empty.")
    ] = Channel.WARM_MARKET,
    mapping: Annotated[
        str | None,
        Query(max_length=2000, description='JSON object field → header, e.g. `{"name": "客户"}`.'),
    ] = None,
) -> Response:
    """Import clients from a CSV file you own: a dry run reports each row's errors (200); a real import
    starts one job (202, ``Location``) whose progress and error report you can read."""
    options = jobs.ImportOptions(consent_text_version=consent_text_version, default_channel=default_channel)
    columns, rows = service.read_upload(
        content_type=request.headers.get("content-type"),
        body=await request.body(),
        mapping=mapping,
        options=options,
    )
    if dry_run:
        report = await service.dry_run(
            session=session, tools=tools, principal=principal, columns=columns, rows=rows, options=options
        )
        return JSONResponse(report.model_dump(mode="json"))
    job = await service.open_job(
        sessions=request.app.state.sessions, principal=principal, rows_total=len(rows), options=options
    )
    jobs.start(
        request.app,
        tools=tools,
        principal=principal,
        job_id=job.id,
        rows=rows,
        options=options,
        request_id=request_id_var.get(),
    )
    return JSONResponse(
        service.job_to_read(job).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"{service.BASE}/{job.id}"},
    )


@router.get("/{job_id:uuid}")
async def read_import(job_id: JobId, principal: ReaderDep, session: SessionDep) -> ImportJobRead:
    """An import job: state (running, succeeded, failed) and rows total, done, failed and created."""
    job = await service.get_visible_job(session=session, principal=principal, job_id=job_id)
    return service.job_to_read(job)


@router.get("/{job_id:uuid}/errors", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def import_errors(job_id: JobId, principal: ReaderDep, session: SessionDep) -> Response:
    """The job's error report as CSV: row (the header is row 1), field, message."""
    job = await service.get_visible_job(session=session, principal=principal, job_id=job_id)
    report = await service.error_report(session=session, job=job)
    return Response(report, media_type=CSV_MEDIA_TYPE)
