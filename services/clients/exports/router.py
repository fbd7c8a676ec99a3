"""HTTP endpoint of the clients export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from crmkit.auth import Role, require_roles
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionsDep
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
    read_sessions: ReplicaSessionsDep,
    reveal: Annotated[
        bool, Query(description="`true`: document number and phone unmasked (needs `reason`; audited).")
    ] = False,
    reason: Annotated[
        str | None, Query(min_length=3, max_length=500, description="Why identifiers are revealed.")
    ] = None,
) -> StreamingResponse:
    """Your clients as CSV, identifiers masked; unmasked only with ``reveal=true`` and a reason (audited)."""
    cipher = await service.revealing_cipher(
        session=session, principal=principal, reveal=reveal, reason=reason, cipher=request.app.state.cipher
    )
    if cipher is not None:
        await session.commit()  # the audit row is written before any identifier leaves
    return StreamingResponse(
        service.stream_clients(sessions=read_sessions, principal=principal, cipher=cipher),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": 'attachment; filename="clients.csv"',
            "Cache-Control": "no-store",
        },
    )
