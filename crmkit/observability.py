"""Request ids, JSON logs and Prometheus metrics, as one pure ASGI middleware."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import traceback
import uuid
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkit.body_limit import send_problem
from crmkit.context import request_id_var
from crmkit.problems import (
    DATABASE_RETRY_AFTER_SECONDS,
    DATABASE_UNAVAILABLE_DETAIL,
    database_unavailable,
    problem_kind,
)

INTERNAL_ERROR = problem_kind("internal-error", "Internal server error", 500)

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID_HEADER = "x-request-id"


def _add_request_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


# One lock for every write to stdout, ours and the stdlib handler's: a line is one write, never
# interleaved with another thread's line, whichever path either took.
_STDOUT_LOCK = threading.RLock()


def _write_line(line: str) -> None:
    """Writes one log line to the current `sys.stdout` and flushes it, like a StreamHandler."""
    with _STDOUT_LOCK:
        stream = sys.stdout
        stream.write(line + "\n")
        stream.flush()


class _StdoutLogger:
    """structlog's final logger for our own lines: the rendered line straight to stdout.

    The stdlib round trip (LogRecord, findCaller, handler, ProcessorFormatter) costs more than the
    rest of a request's log line; the line is the same, rendered by the same processors. The name
    is kept for ``add_logger_name``.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, line: str) -> None:
        try:
            _write_line(line)
        except Exception:  # a closed or broken stdout: reported as logging would, never raised
            if logging.raiseExceptions:
                traceback.print_exc(file=sys.stderr)

    debug = info = warning = error = critical = exception = msg


def _stdout_logger(name: str) -> _StdoutLogger:
    """structlog's logger factory: ``structlog.get_logger(name)`` needs a name."""
    return _StdoutLogger(name)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is at the time of the write.

    A plain StreamHandler keeps the stream it was built with; when that object is later
    replaced and closed (a test runner's capture, a reloaded worker), every log call fails
    with "I/O operation on closed file" and logging prints the caller's stack instead.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def createLock(self) -> None:  # noqa: N802 (logging's name)
        """The shared stdout lock (still re-initialised in a forked child, as logging registers)."""
        super().createLock()
        self.lock = _STDOUT_LOCK

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        """The stream is always the current sys.stdout."""


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Every log line (ours, uvicorn's, SQLAlchemy's) is one JSON object with the request id."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
        lambda _, __, event: {**event, "service": service},
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outbound URL at INFO; query strings may hold personal data (a phone filter).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Our own lines skip the stdlib round trip: filtered by level in the bound logger's class (a
    # call below the level is a bare return), rendered by the same processors as foreign records,
    # written as one line to stdout. The level is fixed here, as it is for the root logger.
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=_stdout_logger,
        wrapper_class=structlog.make_filtering_bound_logger(root.getEffectiveLevel()),
        cache_logger_on_first_use=True,
    )


class Metrics:
    """One registry per app, so several apps can live in one test process."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route template, method and status.",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["service", "method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.upstream_retries = Counter(
            "crm_upstream_retries_total",
            "Requests retried on another replica after one failed before answering (crmkit/balancing.py).",
            ["service", "upstream"],
            registry=self.registry,
        )
        self.service = service
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def retried(self, upstream: str) -> None:
        self.upstream_retries.labels(self.service, upstream).inc()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled series of a method, route and status, looked up once: ``labels()`` takes a
        # lock and builds its key on every call.
        series = self._series.get((method, route, status))
        if series is None:
            series = (
                self.requests.labels(self.service, method, route, str(status)),
                self.latency.labels(self.service, method, route),
            )
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class RequestContextMiddleware:
    """Accepts or generates ``X-Request-ID``, returns it, logs one line per request, counts it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, logger_name: str) -> None:
        self.app = app
        self.metrics = metrics
        self.log = structlog.get_logger(logger_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if not response_started and database_unavailable(exc):  # raised in middleware (idempotency)
                self.log.warning("database unavailable", error_type=type(exc).__name__)
                await send_problem(
                    send_with_id,
                    scope,
                    status=503,
                    title="Service unavailable",
                    slug="service-unavailable",
                    detail=DATABASE_UNAVAILABLE_DETAIL,
                    headers=[(b"retry-after", str(DATABASE_RETRY_AFTER_SECONDS).encode())],
                )
                return
            # Answered here, inside the request context, so the 500 carries the request id.
            self.log.error("unhandled error", error_type=type(exc).__name__, stack=_frames_only(exc))
            if response_started:
                raise
            await send_problem(
                send_with_id,
                scope,
                status=500,
                title="Internal server error",
                slug=INTERNAL_ERROR,
                detail="An unexpected error occurred; quote the request id when reporting it.",
            )
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            self.metrics.observe(scope["method"], template, status, elapsed)
            self.log.info(
                "request",
                method=scope["method"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            request_id_var.reset(token)


def _frames_only(exc: BaseException) -> str:
    """The traceback without the exception's message: messages can quote personal data
    (a driver echoing a duplicate value), frames cannot."""
    return "".join(traceback.format_tb(exc.__traceback__))


def metrics_endpoint(metrics: Metrics) -> Any:
    async def metrics_view(_: Request) -> Response:
        return metrics.render()

    return metrics_view
