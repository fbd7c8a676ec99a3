"""RFC 9457 problem responses for every error, including validation, 404/405 and crashes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crmkit.context import request_id_var

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "/problems/"
"""Each problem ``type`` is ``/problems/<slug>``, a URI reference resolved against the API's own
address (RFC 9457 §3.1.1): the gateway serves a page for every slug there, in any deployment,
offline included (gateway/problem_pages.py, from docs/api.md)."""


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One meaning a problem can have: one ``type`` (slug), one title, one status."""

    slug: str
    title: str
    status: int


PROBLEM_TYPES: dict[str, ProblemType] = {}
"""Every problem type the importing app can emit: the subclasses of ``ProblemError`` that name a
slug register themselves; middleware that answers directly registers its slugs with
``problem_kind``. docs/api.md describes each (tests/test_platform_problem_types.py)."""


def problem_kind(slug: str, title: str, status: int) -> str:
    """Register a problem type (once per slug) and return its slug."""
    PROBLEM_TYPES.setdefault(slug, ProblemType(slug, title, status))
    return slug


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/validation-error",
                    "title": "Validation failed",
                    "status": 422,
                    "detail": "1 field is invalid",
                    "instance": "/api/v1/clients",
                    "request_id": "06ce1291e54b45358969bf9ba6f2aad9",
                    "errors": [{"field": "id_document_number", "message": "wrong check digit"}],
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """A domain error that knows its status; subclasses set ``status`` and ``title``."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "slug" in cls.__dict__:
            problem_kind(cls.slug, cls.title, cls.status)

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class Unauthorized(ProblemError):
    status, title, slug = 401, "Not authenticated", "unauthorized"


class Forbidden(ProblemError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ProblemError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ProblemError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ProblemError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(ProblemError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class Unprocessable(ProblemError):
    status, title, slug = 422, "Validation failed", "validation-error"


class PreconditionRequired(ProblemError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(ProblemError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailable(ProblemError):
    status, title, slug = 503, "Service unavailable", "service-unavailable"


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


def problem_body(
    *,
    path: str | None,
    status: int,
    title: str,
    slug: str | None,
    detail: str | None,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The one shape of every problem, whether a handler or a middleware answers."""
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": path,
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    if extra:
        body.update(extra)
    return body


def render_problem(body: dict[str, Any]) -> bytes:
    """The bytes Starlette's ``JSONResponse`` would send, for middleware answering directly."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def problem_response(
    request: Request | None,
    *,
    status: int,
    title: str,
    slug: str | None = None,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(
        path=request.url.path if request is not None else None,
        status=status,
        title=title,
        slug=slug,
        detail=detail,
        errors=errors,
        extra=extra,
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_HTTP_TITLES = {
    400: ("Bad request", "bad-request"),
    401: ("Not authenticated", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found", "not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    406: ("Not acceptable", "not-acceptable"),
    413: ("Payload too large", "payload-too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
}
for _status, (_title, _slug) in _HTTP_TITLES.items():
    problem_kind(_slug, _title, _status)
problem_kind(ProblemError.slug, ProblemError.title, ProblemError.status)
MALFORMED_BODY = problem_kind("malformed-body", "Malformed request body", 400)
VALIDATION_ERROR = problem_kind("validation-error", "Validation failed", 422)
UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
JSON_MEDIA_TYPE = "application/json"


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


def _line_and_column(document: Any, position: int) -> tuple[int, int]:
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for err in exc.errors():
        kind = err.get("type", "")
        loc = tuple(err.get("loc", ()))
        if kind == "json_invalid":
            # FastAPI puts the character offset where a field name belongs: ("body", 26).
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
            line, column = _line_and_column(exc.body, position)
            reason = err.get("ctx", {}).get("error", "cannot parse body")
            message = f"the body must be JSON; malformed at line {line}, column {column}: {reason}"
            errors.append(FieldError(field="body", message=message))
            continue
        if kind == "extra_forbidden":
            message = "unknown or server-owned field; it cannot be set"
        else:
            message = str(err.get("msg", "invalid value"))
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
        errors.append(FieldError(field=_location(loc), message=message))
    return errors


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        slug=exc.slug,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


def _sent_media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.split(";", 1)[0].strip().lower() if value else None


def _not_json(media_type: str | None) -> bool:
    if media_type is None:
        return False  # FastAPI reads a body without a content type as JSON
    kind, _, subtype = media_type.partition("/")
    return not (kind == "application" and (subtype == "json" or subtype.endswith("+json")))


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    sent = _sent_media_type(request)
    body_refused = any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
    if body_refused and _not_json(sent) and isinstance(exc.body, bytes | str):
        # A JSON body sent as a form or as text: FastAPI saw bytes where an object belongs.
        return problem_response(
            request,
            status=415,
            title="Unsupported media type",
            slug=UNSUPPORTED_MEDIA_TYPE,
            detail=f"the body must be JSON (Content-Type: {JSON_MEDIA_TYPE}); it was sent as {sent}",
            headers={"Accept": JSON_MEDIA_TYPE},
        )
    errors = validation_errors(exc)
    malformed = any(e.message.startswith("the body must be JSON") for e in errors)
    return problem_response(
        request,
        status=400 if malformed else 422,
        title="Malformed request body" if malformed else "Validation failed",
        slug=MALFORMED_BODY if malformed else VALIDATION_ERROR,
        detail="; ".join(f"{e.field}: {e.message}" for e in errors),
        errors=errors,
    )


_TEMPLATE_PARAMETER = re.compile(r"\{[^}/]+\}")
_UUID = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
"""A path parameter documented as a UUID matches only a UUID, as Starlette's ``uuid`` convertor."""
_OPERATIONS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")


def _parameter_pattern(uuids: set[str], match: re.Match[str]) -> str:
    return _UUID if match.group(0)[1:-1] in uuids else "[^/]+"


def _allowed_methods(request: Request, fallback: str, path: str | None = None) -> str:
    """Every method the app documents at this path (Starlette names only the first route's)."""
    index: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allow_index", None)
    if index is None:
        index = []
        for template, item in request.app.openapi().get("paths", {}).items():
            uuids = {
                parameter["name"]
                for operation in item.values()
                if isinstance(operation, dict)
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "path" and parameter.get("schema", {}).get("format") == "uuid"
            }
            escaped = re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            pattern = _TEMPLATE_PARAMETER.sub(partial(_parameter_pattern, uuids), escaped)
            methods = {m for m in _OPERATIONS if m.lower() in item}
            index.append((re.compile(f"^{pattern}$"), methods))
        request.app.state.allow_index = index
    path = request.url.path if path is None else path
    methods = {m for pattern, found in index if pattern.match(path) for m in found}
    return ", ".join(sorted(methods)) if methods else fallback


def _without_trailing_slash(request: Request) -> str | None:
    """The path without its trailing slash, when the app serves that one.

    Apps never redirect to add or drop a slash (``redirect_slashes=False``): behind the gateway a
    redirect named the service's internal address, and following it dropped the token."""
    path = request.url.path
    if len(path) < 2 or not path.endswith("/"):
        return None
    right = path.rstrip("/") or "/"
    return right if _allowed_methods(request, "", path=right) else None


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title, slug = _HTTP_TITLES.get(exc.status_code, ("Error", None))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
    if exc.status_code == 404 and (right := _without_trailing_slash(request)) is not None:
        detail = f"no resource at {request.url.path}; the path is {right} (without the trailing slash)"
    return problem_response(
        request,
        status=exc.status_code,
        title=title,
        slug=slug,
        detail=detail,
        headers=headers,
    )


# PostgreSQL refuses text it cannot store: a NUL character (\u0000), which JSON allows, or a
# character outside the database encoding. The transaction is rolled back, so nothing is stored.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


# The database could not take the request: too many connections or out of resources (class 53),
# starting up or shutting down (57P01-57P03), or the connection failed (class 08). The service is
# fine and the request may be retried (a write with its Idempotency-Key): 503 with Retry-After.
_DATABASE_UNAVAILABLE_CLASSES = ("53", "08")
_DATABASE_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03"})
DATABASE_RETRY_AFTER_SECONDS = 1
DATABASE_UNAVAILABLE_DETAIL = (
    "the database is busy or unreachable; try again shortly (a write with the same Idempotency-Key)"
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not take the request, rather than a fault."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return (
        exc.connection_invalidated
        or sqlstate in _DATABASE_UNAVAILABLE
        or sqlstate.startswith(_DATABASE_UNAVAILABLE_CLASSES)
        or isinstance(exc.orig.__cause__ if exc.orig is not None else None, OSError)
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if database_unavailable(exc):
        return problem_response(
            request,
            status=503,
            title="Service unavailable",
            slug="service-unavailable",
            detail=DATABASE_UNAVAILABLE_DETAIL,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if getattr(exc.orig, "sqlstate", None) not in _UNSTORABLE_TEXT:
        raise exc  # a real fault: answered as a 500 with the request id, by the context middleware
    message = "text may not contain NUL characters (\\u0000) or characters outside UTF-8"
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        slug="validation-error",
        detail=message,
        errors=[FieldError(field="body", message=message)],
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    # Unhandled exceptions are answered by RequestContextMiddleware, inside the request context.


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
    for code, title in (
        (401, "Not authenticated"),
        (404, "Not found, or outside the caller's scope"),
        (422, "Validation failed"),
    )
}
