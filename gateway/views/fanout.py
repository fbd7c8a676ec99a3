"""The fan-out behind the views: every service asked at once, each within its own timeout.

A view names, per service, one coroutine (a *job*) that makes that service's calls and turns the
answers into sections. Jobs run concurrently on the gateway's pooled client; each runs inside
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

import httpx

from crmkit.http import forwarded_headers
from crmkit.problems import ServiceUnavailable
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
    http: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport
    authorization: str | None
    timeout_seconds: float

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON body of a 200; anything else raises (``SourceFailed`` or an ``httpx`` error)."""
        request = self.http.build_request(
            "GET",
            self.base_url + path,
            params=params,
            headers=forwarded_headers(self.authorization),
            # A backstop: the job's asyncio.timeout normally cancels the call first.
            timeout=self.timeout_seconds + 0.5,
        )
        # The client's pooled transport itself, as the proxy uses it: the client's auth, redirect,
        # cookie and hook layers cost a tenth of the gateway's CPU under load and serve no purpose here.
        response = await self.transport.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        if response.status_code != 200:
            raise SourceFailed(self.service, response.status_code)
        return json.loads(body)


Job = Callable[[Upstream], Coroutine[Any, Any, T]]


@dataclass(frozen=True, slots=True)
class FanOut:
    """Where and how to call: the pooled client, the base URLs, the caller's token, the timeout."""

    http: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport
    urls: dict[str, str]
    authorization: str | None
    timeout_seconds: float

    def upstream(self, service: str) -> Upstream:
        return Upstream(
            service, self.urls[service], self.http, self.transport, self.authorization, self.timeout_seconds
        )

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
        except TimeoutError:
            status = SourceStatus.TIMEOUT
        except httpx.TimeoutException:
            status = SourceStatus.TIMEOUT
        except httpx.TransportError:
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
