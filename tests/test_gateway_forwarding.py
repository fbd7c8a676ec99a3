"""The proxy's production forwarding (gateway/forwarding.py ``AiohttpUpstreams``) over real sockets.

The rest of the gateway's tests route in process through an httpx transport (``TransportUpstreams``);
these run the aiohttp path against small aiohttp servers on loopback: what is sent and relayed,
the problems for a refused, slow or broken service, and the replica rules of crmkit/balancing.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from crmkit.problems import ProblemError
from gateway.errors import UpstreamTimeout, UpstreamUnavailable
from gateway.forwarding import WHOLE_BODY_BYTES, AiohttpUpstreams, Answer


class Upstream:
    """Answers with what it received; ``/slow`` waits, ``/large`` streams a big chunked body."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str, CIMultiDict[str], bytes]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.method, request.path_qs, request.headers.copy(), body))
        if request.path == "/slow":
            await asyncio.sleep(2)
        if request.path == "/large":
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            for _ in range(4):
                await response.write(b"x" * WHOLE_BODY_BYTES)
            await response.write_eof()
            return response
        return web.Response(
            status=201, body=self.name.encode() + b":" + body, headers={"ETag": '"1"', "Location": "/a/b"}
        )


@pytest.fixture
async def upstreams() -> AsyncIterator[tuple[Upstream, Upstream, str, str]]:
    servers = []
    apps = (Upstream("a"), Upstream("b"))
    for upstream in apps:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", upstream.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
    try:
        yield (
            apps[0],
            apps[1],
            str(servers[0].make_url("")).rstrip("/"),
            str(servers[1].make_url("")).rstrip("/"),
        )
    finally:
        for server in servers:
            await server.close()


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def read(answer: Answer) -> bytes:
    try:
        if answer.body is not None:
            return answer.body
        return b"".join([chunk async for chunk in answer.chunks()])
    finally:
        await answer.close()


def forwarder(
    replicas: dict[str, list[str]] | None = None, retried: list[str] | None = None
) -> AiohttpUpstreams:
    sink = retried if retried is not None else []
    return AiohttpUpstreams(
        timeout_seconds=0.5, max_connections=10, replicas=replicas or {}, on_retry=sink.append
    )


async def test_method_target_headers_and_body_go_through_and_the_answer_comes_back(
    upstreams: tuple[Upstream, Upstream, str, str],
) -> None:
    a, _, url_a, _ = upstreams
    upstream = forwarder()
    try:
        answer = await upstream.send(
            "clients",
            url_a,
            "POST",
            "/api/v1/clients/%C3%A9?q=a%20b&q=c",
            [(b"x-request-id", b"r-1"), (b"idempotency-key", b"k")],
            b'{"name":"x"}',
        )
        status, headers = answer.status, dict(answer.headers)
        body = await read(answer)
    finally:
        await upstream.aclose()

    assert (status, body) == (201, b'a:{"name":"x"}')
    assert headers[b"ETag"] == b'"1"'
    assert headers[b"Location"] == b"/a/b"
    method, target, sent, received = a.seen[0]
    assert (method, target, received) == ("POST", "/api/v1/clients/%C3%A9?q=a%20b&q=c", b'{"name":"x"}')
    assert sent["X-Request-ID"] == "r-1"
    assert sent["Idempotency-Key"] == "k"


async def test_a_large_answer_is_streamed_and_a_streamed_body_is_sent_as_it_comes(
    upstreams: tuple[Upstream, Upstream, str, str],
) -> None:
    _, _, url_a, _ = upstreams

    async def upload() -> AsyncIterator[bytes]:
        yield b"part one, "
        yield b"part two"

    upstream = forwarder()
    try:
        large = await upstream.send("documents", url_a, "GET", "/large", [], b"")
        assert large.body is None
        assert len(await read(large)) == 4 * WHOLE_BODY_BYTES
        posted = await upstream.send("documents", url_a, "POST", "/upload", [], upload())
        assert await read(posted) == b"a:part one, part two"
    finally:
        await upstream.aclose()


async def test_a_refused_connection_is_503_and_a_slow_answer_504(
    upstreams: tuple[Upstream, Upstream, str, str],
) -> None:
    _, _, url_a, _ = upstreams
    upstream = forwarder()
    try:
        with pytest.raises(UpstreamUnavailable) as refused:
            await upstream.send("clients", closed_port(), "GET", "/x", [], b"")
        with pytest.raises(UpstreamTimeout) as slow:
            await upstream.send("clients", url_a, "GET", "/slow", [], b"")
    finally:
        await upstream.aclose()

    assert "clients" in str(refused.value.detail)
    assert isinstance(slow.value, ProblemError)
    assert slow.value.status == 504


async def test_replicas_take_turns_and_a_refused_one_is_retried_elsewhere(
    upstreams: tuple[Upstream, Upstream, str, str],
) -> None:
    a, b, url_a, url_b = upstreams
    retried: list[str] = []
    balanced = forwarder({"clients": [url_a, url_b]}, retried)
    down = forwarder({"clients": [url_a, closed_port()]}, retried)
    try:
        for _ in range(4):
            await read(await balanced.send("clients", url_a, "GET", "/x", [], b""))
        answers = [await read(await down.send("clients", url_a, "POST", "/x", [], b"{}")) for _ in range(3)]
    finally:
        await balanced.aclose()
        await down.aclose()

    assert (len(a.seen), len(b.seen)) == (2 + 3, 2)
    assert answers == [b"a:{}"] * 3
    assert retried == ["clients"]  # the refusing replica was backed off after the first refusal


async def test_a_slow_replica_is_not_retried(upstreams: tuple[Upstream, Upstream, str, str]) -> None:
    a, b, url_a, url_b = upstreams
    retried: list[str] = []
    balanced = forwarder({"clients": [url_a, url_b]}, retried)
    try:
        with pytest.raises(UpstreamTimeout):
            await balanced.send("clients", url_a, "GET", "/slow", [], b"")
    finally:
        await balanced.aclose()

    assert len(a.seen) + len(b.seen) == 1
    assert retried == []
