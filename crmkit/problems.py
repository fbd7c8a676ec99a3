"""RFC 9457 problem responses for every error, including validation, 404/405 and crashes."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crmkit.context import request_id_var

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

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
    status, title, slug = 422, "Unprocessable content", "validation-error"


class PreconditionRequired(ProblemError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(ProblemError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailable(ProblemError):
    status, title, slug = 503, "Service unavailable", "service-unavailable"


def problem_type(slug: str) -> str:
    return f"https://crm.example/problems/{slug}"


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
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.url.path if request is not None else None,
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    if extra:
        body.update(extra)
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


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for err in exc.errors():
        kind = err.get("type", "")
        loc = tuple(err.get("loc", ()))
        if kind == "json_invalid":
            message = f"malformed JSON: {err.get('ctx', {}).get('error', 'cannot parse body')}"
        elif kind == "extra_forbidden":
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


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    malformed = any(e.message.startswith("malformed JSON") for e in errors)
    return problem_response(
        request,
        status=400 if malformed else 422,
        title="Malformed request body" if malformed else "Validation failed",
        slug="malformed-body" if malformed else "validation-error",
        detail="; ".join(f"{e.field}: {e.message}" for e in errors),
        errors=errors,
    )


_TEMPLATE_PARAMETER = re.compile(r"\{[^}/]+\}")
_UUID = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
"""A path parameter documented as a UUID matches only a UUID, as Starlette's ``uuid`` convertor."""
_OPERATIONS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")


def _parameter_pattern(uuids: set[str], match: re.Match[str]) -> str:
    return _UUID if match.group(0)[1:-1] in uuids else "[^/]+"


def _allowed_methods(request: Request, fallback: str) -> str:
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
    methods = {m for pattern, found in index if pattern.match(request.url.path) for m in found}
    return ", ".join(sorted(methods)) if methods else fallback


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title, slug = _HTTP_TITLES.get(exc.status_code, ("Error", "error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
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


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
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
