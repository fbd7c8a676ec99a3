"""HTTP endpoint of the clients export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from crmkit.auth import Role, require_roles
from crmkit.problems import PROBLEM_RESPONSES, FieldError, Forbidden, Unprocessable
from services.clients.dependencies import ReaderDep, SessionDep
from services.clients.exports import service

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["exports"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV (with BOM), one client a row."}},
)
async def export_clients(
    request: Request,
    principal: ReaderDep,
    session: SessionDep,
    reveal: Annotated[
        bool, Query(description="`true`: resident ID and phone unmasked (needs `reason`; audited).")
    ] = False,
    reason: Annotated[
        str | None, Query(min_length=3, max_length=500, description="Why identifiers are revealed.")
    ] = None,
) -> StreamingResponse:
    """Your clients as CSV, identifiers masked; unmasked only with ``reveal=true`` and a reason (audited)."""
    cipher = None
    if reveal:
        if not reason or not reason.strip():
            raise Unprocessable(
                "say why the identifiers are revealed",
                errors=[FieldError(field="reason", message="required with reveal=true")],
            )
        if not principal.allows("clients:reveal"):
            raise Forbidden("this API key lacks the 'clients:reveal' scope")
        await service.record_reveal(session=session, principal=principal, reason=reason.strip())
        await session.commit()  # the audit row is written before any identifier leaves
        cipher = request.app.state.cipher
    return StreamingResponse(
        service.stream_clients(sessions=request.app.state.read_sessions, principal=principal, cipher=cipher),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="clients.csv"',
            "Cache-Control": "no-store",
        },
    )
