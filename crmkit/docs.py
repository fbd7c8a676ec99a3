"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from packaged assets: no CDN, so they work offline.

The assets come from the ``fastapi-offline`` wheel (pinned in pyproject.toml), which ships
Swagger UI's bundle and stylesheet and ReDoc's standalone script; only the files are used, served
here under ``/docs/assets/``. FastAPI's own page builders write the HTML, pointed at them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS_PATH = "/docs/assets"
_ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_CACHE = "public, max-age=86400"


def docs_router(*, title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc`` over ``openapi_url``, assets included."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        """Interactive documentation: try every operation from the browser."""
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} (Swagger UI)",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        """Reference documentation on one page."""
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} (ReDoc)",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    @router.get(ASSETS_PATH + "/{name}")
    async def asset(name: str) -> FileResponse:
        """One packaged file, by a fixed list of names (nothing else on disk is reachable)."""
        media_type = _ASSETS.get(name)
        if media_type is None:
            raise HTTPException(status_code=404, detail=f"no documentation asset named {name}")
        return FileResponse(_ASSETS_DIR / name, media_type=media_type, headers={"Cache-Control": _CACHE})

    return router
