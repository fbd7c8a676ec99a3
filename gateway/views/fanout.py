"""The fan-out behind the views: every service asked at once, each within its own timeout.

A view names, per service, one coroutine (a *job*) that makes that service's calls and turns the
answers into sections. Jobs run concurrently on the gateway's upstreams (the proxy's); each runs inside
``asyncio.timeout``, so a slow service is cancelled (its connection dropped) when its time is up
and the view answers with what the others gave. The outcome of each job is a ``Source``: its
status, how long it took and, when the service answered with an error, the HTTP status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from crmkit.http import forwarded_headers
from crmkit.problems import ServiceUnavailable
from gateway.errors import UpstreamFailed, UpstreamTimeout, UpstreamUnavailable
from gateway.forwarding import CutShort, Upstreams
from gateway.views.schemas import Source, SourceStatus

log = logging.getLogger("gateway.views")
T = TypeVar("T")


class SourceFailed(Exception):
    """A service answered, but not with the 200 the view needs."""

    def __init__(self, service: str, http_status: int) -> None:
        super().__init__(f"{service} answered {http_status}")
        self.http_status = http_status


class AllSourcesFailed(ServiceUnavailable):
    """Every service behind a view failed (the same problem type as any 503; the detail names them)."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """One service as a view sees it: its base URL, called with the caller's token and request id."""

    service: str
    base_url: str
    upstreams: Upstreams
    authorization: str | None

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON body of a 200; anything else raises (``SourceFailed``, the gateway's upstream
        problems or ``CutShort``)."""
        target = f"{path}?{urlencode([(k, _query_value(v)) for k, v in params.items()])}" if params else path
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in forwarded_headers(self.authorization).items()
        ]
        # The proxy's way to the services (gateway/forwarding.py): in production straight on aiohttp's
        # pool, without the httpx Request and Response of each call (a tenth of the agenda's CPU).
        answer = await self.upstreams.send(self.service, self.base_url, "GET", target, headers, b"")
        try:
            if answer.status != 200:
                raise SourceFailed(self.service, answer.status)
            body = answer.body if answer.body is not None else b"".join([c async for c in answer.chunks()])
        finally:
            await answer.close()
        return json.loads(body)


def _query_value(value: Any) -> str:
    """A query parameter's value as httpx writes it."""
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)


Job = Callable[[Upstream], Coroutine[Any, Any, T]]


@dataclass(frozen=True, slots=True)
class FanOut:
    """Where and how to call: the gateway's upstreams (the proxy's), the base URLs, the caller's token,
    the timeout."""

    upstreams: Upstreams
    urls: dict[str, str]
    authorization: str | None
    timeout_seconds: float

    def upstream(self, service: str) -> Upstream:
        return Upstream(service, self.urls[service], self.upstreams, self.authorization)

    async def run(self, jobs: dict[str, Job[Any]]) -> tuple[dict[str, Any], list[Source]]:
        """Every job at once; the results of those that succeeded, and every job's ``Source``."""
        outcomes = await asyncio.gather(*(self._one(name, job) for name, job in jobs.items()))
        results = {name: result for name, (result, source) in zip(jobs, outcomes, strict=True) if source.ok}
        return results, [source for _, source in outcomes]

    async def _one(self, name: str, job: Job[T]) -> tuple[T | None, Source]:
        started = time.perf_counter()
        http_status: int | None = None
        try:
            async with asyncio.timeout(self.timeout_seconds):
                result = await job(self.upstream(name))
            return result, _source(name, SourceStatus.OK, started, 200)
        except (TimeoutError, UpstreamTimeout):
            status = SourceStatus.TIMEOUT
        except (UpstreamUnavailable, UpstreamFailed, CutShort):
            status = SourceStatus.UNAVAILABLE
        except SourceFailed as failed:
            http_status = failed.http_status
            status = SourceStatus.UNAVAILABLE if http_status in (502, 503, 504) else SourceStatus.ERROR
        except Exception:  # a malformed answer must cost its sections, never the whole view
            log.warning("view source failed", extra={"service": name}, exc_info=True)
            status = SourceStatus.ERROR
        return None, _source(name, status, started, http_status)


def require_any(sources: list[Source]) -> None:
    """A view with no source at all is no view: 503, naming the services."""
    if sources and not any(s.ok for s in sources):
        names = ", ".join(f"{s.service} ({s.status.value})" for s in sources)
        raise AllSourcesFailed(f"no service behind this view answered: {names}; try again shortly")


def _source(service: str, status: SourceStatus, started: float, http_status: int | None) -> Source:
    latency = round((time.perf_counter() - started) * 1000, 2)
    return Source(service=service, status=status, latency_ms=latency, http_status=http_status)


async def all_of(*calls: Awaitable[Any]) -> list[Any]:
    """Several calls to one service at once; the first failure cancels the others and is raised."""
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except BaseExceptionGroup as group_error:
        raise _first(group_error) from None
    return [task.result() for task in tasks]


async def _awaited(call: Awaitable[T]) -> T:
    return await call


def _first(error: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real failure of a group (a nested group unwrapped)."""
    first = error.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
