"""Several processes behind one address: round-robin, a short back-off, one retry elsewhere.

An app is told about another app's replicas with a comma-separated list in place of its one URL
(``GATEWAY_CLIENTS_URL=http://10.0.0.5:8101,http://10.0.0.6:8101``, ``POLICIES_CLIENTS_URL=...``).
Settings keep the first URL as the app's address (``crmkit.settings.CommonSettings.replicas``), so
every caller still builds ``f"{settings.clients_url}/api/v1/..."``; :class:`BalancingTransport`,
under the pooled HTTP client, sends each request to the next replica instead.

- **Round-robin**, skipping a replica that refused a connection for ``BACKOFF_SECONDS``.
- **One retry on another replica** when the first one failed before any response byte:
  - a refused or failed connection (the request never left): any request whose body is in memory;
  - a reset or a closed keep-alive connection (the request may have been read): only a request that
    is safe to replay by the API's contract: GET, HEAD, OPTIONS, PUT, DELETE, and POST or PATCH with
    an ``Idempotency-Key`` (crmkit/idempotency.py). A POST without a key is never replayed.
  - never a streamed body (a document upload): it cannot be sent twice.
  A timeout is not retried: the replica may still be working, and a second one would double the load.
- Counted in ``crm_upstream_retries_total{service,upstream}`` on the app's ``/metrics``.

In Kubernetes a Service already balances across pods (one URL each); the lists are for
deployments without a Service or mesh (docs/deploy.md).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

log = logging.getLogger("crmkit.balancing")
T = TypeVar("T")

BACKOFF_SECONDS = 2.0
PINNED = "crm.replica_pinned"
"""A request extension: ``extensions={PINNED: True}`` goes to the URL as given (a readiness probe)."""
REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
KEYED_METHODS = frozenset({"POST", "PATCH"})
_REFUSED = (httpx.ConnectError,)
_CUT = (httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""Connection reset or closed before a response. (httpx-aiohttp reports aiohttp's
``ServerDisconnectedError`` and ``ClientOSError`` as ``ConnectTimeout``.)"""


def split_urls(value: str) -> list[str]:
    """``"http://a:1, http://b:1/"`` → ``["http://a:1", "http://b:1"]``."""
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


@dataclass
class ReplicaSet:
    """One app's replicas, in the order given; the first is the address callers use."""

    name: str
    urls: list[str]
    clock: Callable[[], float] = time.monotonic
    _origins: list[httpx.URL] = field(init=False, repr=False)
    _down_until: list[float] = field(init=False, repr=False)
    _turn: itertools.count[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError(f"{self.name}: no replica URL")
        self._origins = [httpx.URL(url) for url in self.urls]
        self._down_until = [0.0] * len(self.urls)
        self._turn = itertools.count()

    @property
    def address(self) -> httpx.URL:
        return self._origins[0]

    def pick(self, exclude: int | None = None) -> int | None:
        """The next replica not backed off (or, when all are, the one free soonest); ``None`` when
        ``exclude`` was the only one."""
        count = len(self._origins)
        candidates = [i for i in range(count) if i != exclude]
        if not candidates:
            return None
        start = next(self._turn)
        now = self.clock()
        for step in range(count):
            index = (start + step) % count
            if index in candidates and self._down_until[index] <= now:
                return index
        return min(candidates, key=lambda i: self._down_until[i])

    def back_off(self, index: int) -> None:
        self._down_until[index] = self.clock() + BACKOFF_SECONDS

    async def send_with_one_retry(
        self,
        send: Callable[[int], Awaitable[T]],
        *,
        failed: tuple[type[BaseException], ...],
        may_retry: Callable[[BaseException], bool],
        on_retry: Callable[[str], None],
    ) -> T:
        """``send(replica)`` to the next replica. When it raises one of ``failed`` (nothing answered),
        that replica backs off and, where ``may_retry(error)`` allows, the request goes once to
        another: the rules above, for the httpx transport and the gateway's aiohttp forwarder alike."""
        first = self.pick()
        assert first is not None
        try:
            return await send(first)
        except failed as exc:
            self.back_off(first)
            if not may_retry(exc):
                raise
            second = self.pick(exclude=first)
            if second is None:
                raise
            on_retry(self.name)
            log.info(
                "upstream failed before answering; retried on another replica",
                extra={"upstream": self.name, "error": type(exc).__name__},
            )
            return await send(second)

    def target(self, request: httpx.Request, index: int) -> httpx.Request:
        """``request`` sent to replica ``index`` (same path, query, headers and body)."""
        origin = self._origins[index]
        url = request.url.copy_with(scheme=origin.scheme, host=origin.host, port=origin.port)
        headers = request.headers.copy()
        headers["host"] = url.netloc.decode("ascii")
        return httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=request.extensions
        )


def may_replay(method: str, has_idempotency_key: bool) -> bool:
    """Safe to send again after the first attempt may have reached the app (see module doc)."""
    return method in REPLAYABLE_METHODS or (method in KEYED_METHODS and has_idempotency_key)


def replayable(request: httpx.Request) -> bool:
    return may_replay(request.method, "idempotency-key" in request.headers)


def body_in_memory(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


class BalancingTransport(httpx.AsyncBaseTransport):
    """Sends a request addressed to a replica set's first URL to one of its replicas; any other
    request goes to ``inner`` untouched."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        replica_sets: Sequence[ReplicaSet],
        on_retry: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.inner = inner
        self.sets = {_origin(s.address): s for s in replica_sets if len(s.urls) > 1}
        self.on_retry = on_retry

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        replicas = self.sets.get(_origin(request.url))
        if replicas is None or request.extensions.get(PINNED):
            return await self.inner.handle_async_request(request)

        def may_retry(exc: BaseException) -> bool:
            return body_in_memory(request) and (isinstance(exc, _REFUSED) or replayable(request))

        return await replicas.send_with_one_retry(
            lambda index: self.inner.handle_async_request(replicas.target(request, index)),
            failed=(*_REFUSED, *_CUT),
            may_retry=may_retry,
            on_retry=self.on_retry,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def balanced(
    inner: httpx.AsyncBaseTransport,
    replicas: Mapping[str, Sequence[str]],
    on_retry: Callable[[str], None] = lambda name: None,
) -> httpx.AsyncBaseTransport:
    """``inner`` itself when no app has more than one replica, else balancing over it."""
    sets = [ReplicaSet(name, list(urls)) for name, urls in replicas.items() if len(urls) > 1]
    return BalancingTransport(inner, sets, on_retry) if sets else inner
