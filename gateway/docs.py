"""``/openapi.json`` (merged across services), the API's front pages (``/``, ``/api/v1/``) and a
page for every problem type (``/problems/{slug}``). Swagger UI and ReDoc come from crmkit/docs.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.openapi_merge import OpenApiMerger
from gateway.problem_pages import problem_index, problem_page

router = APIRouter(include_in_schema=False)

LINKS = {
    "docs": "/docs",
    "redoc": "/redoc",
    "openapi": "/openapi.json",
    "problems": "/problems",
    "sign_in": "/api/v1/auth/token",
    "health": "/healthz",
    "readiness": "/readyz",
}


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    """The whole API: the gateway's operations and every reachable service's."""
    merger: OpenApiMerger = request.app.state.openapi_merger
    return JSONResponse(await merger.document())


@router.get("/")
@router.get("/api/v1")
@router.get("/api/v1/")
async def index() -> JSONResponse:
    """Where to start: the documentation, the OpenAPI document, sign-in and health."""
    return JSONResponse(
        {
            "name": "Insurance agent CRM API",
            "api_version": "v1",
            "base_path": "/api/v1",
            "links": LINKS,
        }
    )


@router.get("/problems")
async def problems() -> HTMLResponse:
    """Every problem type the API answers with, each linking to its page."""
    return problem_index()


@router.get("/problems/{slug}")
async def problem(slug: str) -> HTMLResponse:
    """What one problem ``type`` means and what to do about it (from docs/api.md)."""
    return problem_page(slug)
