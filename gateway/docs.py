"""``/openapi.json`` (merged across services) and ``/docs`` (Swagger UI over it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.openapi_merge import OpenApiMerger

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    """The whole API: the gateway's operations and every reachable service's."""
    merger: OpenApiMerger = request.app.state.openapi_merger
    return JSONResponse(await merger.document())


@router.get("/docs")
async def docs() -> HTMLResponse:
    """Interactive documentation of the whole API."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Insurance agent CRM API")
