"""How the proxy sends a request to a service and reads its answer.

In production (:class:`AiohttpUpstreams`) straight on aiohttp's keep-alive pool, one pool per
upstream address: no httpx ``Request``/``URL``/``Response`` objects per call (they and httpx-aiohttp's
conversions were about a third of the gateway's CPU per proxied GET, ``python -m bench.gateway_hop``);
an answer of a known small length is read whole and relayed in one message. The replicas of a service
are balanced and retried as ``crmkit.balancing`` does for httpx clients. With an httpx transport given
(:class:`TransportUpstreams`: tests route in process, or a deployment's own transport) through it.

Both raise the gateway's problems for a service that cannot be reached (503), is too slow (504) or
fails before answering (502), and :class:`CutShort` for an answer that breaks off mid-body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from crmkit.balancing import ReplicaSet, may_replay
from gateway.errors import UpstreamFailed, UpstreamTimeout, UpstreamUnavailable

WHOLE_BODY_BYTES = 64 * 1024
"""An answer that declares at most this length is read whole and relayed in one message."""
KEEPALIVE_SECONDS = 4.0
"""Idle connections are dropped before uvicorn's 5 s keep-alive closes them from the other end."""

Body = bytes | AsyncIterator[bytes]


class CutShort(Exception):
    """The upstream's answer broke off after it started."""


class Answer(Protocol):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    """The whole body when it was read at once; else read it with :meth:`chunks`."""

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class Upstreams(Protocol):
    async def send(
        self,
        service: str,
        base: str,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: Body,
    ) -> Answer:
        """``method base+target`` (``target``: the raw path and query) with ``headers`` and ``body``."""
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _AiohttpAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    response: aiohttp.ClientResponse

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise CutShort from exc

    async def close(self) -> None:
        self.response.release()


class AiohttpUpstreams:
    """Requests on aiohttp's pooled connector; a service with several replicas is balanced over them
    (round-robin, back-off, one retry elsewhere: the rules of ``crmkit.balancing``)."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        max_connections: int,
        replicas: dict[str, list[str]],
        on_retry: Callable[[str], None],
    ) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=KEEPALIVE_SECONDS),
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=timeout_seconds,
                sock_connect=min(timeout_seconds, 2.0),
                sock_read=timeout_seconds,
            ),
            auto_decompress=False,
        )
        self.sets = {name: ReplicaSet(name, urls) for name, urls in replicas.items() if len(urls) > 1}
        self.on_retry = on_retry

    async def send(
        self,
        service: str,
        base: str,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: Body,
    ) -> Answer:
        fields = CIMultiDict((name.decode("latin-1"), value.decode("latin-1")) for name, value in headers)
        data = body if body else None
        replicas = self.sets.get(service)
        if replicas is None:
            return await self._send(service, base, method, target, fields, data)

        def may_retry(problem: BaseException) -> bool:
            refused = isinstance(problem.__cause__, aiohttp.ClientConnectorError)
            return isinstance(body, bytes) and (refused or may_replay(method, "idempotency-key" in fields))

        return await replicas.send_with_one_retry(
            lambda index: self._send(service, replicas.urls[index], method, target, fields, data),
            failed=(UpstreamUnavailable,),
            may_retry=may_retry,
            on_retry=self.on_retry,
        )

    async def _send(
        self, service: str, base: str, method: str, target: str, headers: CIMultiDict[str], data: Body | None
    ) -> Answer:
        response: aiohttp.ClientResponse | None = None
        try:
            response = await self.session.request(
                method, URL(base + target, encoded=True), headers=headers, data=data, allow_redirects=False
            )
            length = response.content_length
            whole = await response.read() if length is not None and length <= WHOLE_BODY_BYTES else None
        except aiohttp.ClientError as exc:
            if response is not None:
                response.close()
            if isinstance(exc, aiohttp.SocketTimeoutError):
                raise UpstreamTimeout(f"the {service} service did not answer in time") from exc
            if isinstance(exc, aiohttp.ClientConnectionError):
                raise UpstreamUnavailable(f"the {service} service is unavailable; try again shortly") from exc
            raise UpstreamFailed(f"the {service} service failed to answer") from exc
        return _AiohttpAnswer(response.status, list(response.raw_headers), whole, response)

    async def aclose(self) -> None:
        await self.session.close()


@dataclass(slots=True)
class _HttpxAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    response: httpx.Response

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_raw():
                yield chunk
        except httpx.TransportError as exc:
            raise CutShort from exc

    async def close(self) -> None:
        await self.response.aclose()


class TransportUpstreams:
    """Requests through an httpx transport (balanced, when it is, by the transport itself)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout) -> None:
        self.transport = transport
        self.extensions = {"timeout": timeout.as_dict()}

    async def send(
        self,
        service: str,
        base: str,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: Body,
    ) -> Answer:
        request = httpx.Request(
            method, base + target, headers=headers, content=body, extensions=self.extensions
        )
        try:
            response = await self.transport.handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise UpstreamUnavailable(f"the {service} service is unavailable; try again shortly") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the {service} service did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamFailed(f"the {service} service failed to answer") from exc
        whole = response.content if response.is_stream_consumed else None
        return _HttpxAnswer(response.status_code, response.headers.raw, whole, response)

    async def aclose(self) -> None:
        return None
