"""Replica lists (crmkit/balancing.py): which replica a request goes to, and what is retried.

The rules are checked here against a scripted network (httpx's MockTransport stands in for the
sockets, so a refused connection or a reset can be made to happen on demand); the real thing, two
processes of every app restarted one by one under load, is tests/test_scale_replicas_two.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from crmkit import draining
from crmkit.balancing import PINNED, BalancingTransport, ReplicaSet, balanced, split_urls
from gateway.config import Settings as GatewaySettings
from services.policies.config import Settings as PoliciesSettings
from tests.conftest import Stack

A, B = "http://10.0.0.1:8101", "http://10.0.0.2:8101"


class Network:
    """Answers 200 with the host's name, or fails a host's requests with a given error."""

    def __init__(self) -> None:
        self.failing: dict[str, Callable[[httpx.Request], Exception]] = {}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.seen.append(host)
        if host in self.failing:
            raise self.failing[host](request)
        return httpx.Response(200, text=host)


def client(network: Network, retried: list[str] | None = None) -> httpx.AsyncClient:
    sink = retried if retried is not None else []
    transport = balanced(httpx.MockTransport(network), {"clients": [A, B]}, on_retry=sink.append)
    return httpx.AsyncClient(transport=transport, base_url=A)


def refused(request: httpx.Request) -> Exception:
    return httpx.ConnectError("connection refused", request=request)


def reset(request: httpx.Request) -> Exception:
    return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def slow(request: httpx.Request) -> Exception:
    return httpx.ReadTimeout("timed out", request=request)


async def test_round_robin_over_the_replicas() -> None:
    network = Network()
    async with client(network) as http:
        hosts = [(await http.get("/api/v1/clients")).text for _ in range(4)]
    assert hosts == ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"]


async def test_a_refused_connection_is_retried_elsewhere_and_the_replica_backed_off() -> None:
    network = Network()
    network.failing["10.0.0.1"] = refused
    retried: list[str] = []
    async with client(network, retried) as http:
        # Never sent, so even a POST without a key goes to the other replica.
        first = await http.post("/api/v1/clients", json={"name": "x"})
        later = [(await http.get("/api/v1/clients")).text for _ in range(3)]
    assert first.text == "10.0.0.2"
    assert later == ["10.0.0.2"] * 3  # 10.0.0.1 backed off: not even tried
    assert network.seen == ["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.2", "10.0.0.2"]
    assert retried == ["clients"]


@pytest.mark.parametrize(
    ("method", "headers", "replayed"),
    [
        ("GET", {}, True),
        ("PUT", {}, True),
        ("DELETE", {}, True),
        ("POST", {"Idempotency-Key": "k-1"}, True),
        ("PATCH", {"Idempotency-Key": "k-2"}, True),
        ("POST", {}, False),
        ("PATCH", {}, False),
    ],
)
async def test_a_reset_is_retried_only_when_the_request_is_safe_to_replay(
    method: str, headers: dict[str, str], replayed: bool
) -> None:
    network = Network()
    network.failing["10.0.0.1"] = reset
    async with client(network) as http:
        if replayed:
            response = await http.request(method, "/api/v1/clients/1", headers=headers, json={})
            assert response.text == "10.0.0.2"
        else:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.request(method, "/api/v1/clients/1", headers=headers, json={})
    assert network.seen[0] == "10.0.0.1"


async def test_a_streamed_body_and_a_timeout_are_never_retried() -> None:
    network = Network()
    network.failing["10.0.0.1"] = refused

    async def upload() -> AsyncIterator[bytes]:
        yield b"part"

    async with client(network) as http:
        with pytest.raises(httpx.ConnectError):
            await http.put("/api/v1/documents/1", content=upload())
    network = Network()
    network.failing["10.0.0.1"] = slow
    async with client(network) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/api/v1/clients")
    assert network.seen == ["10.0.0.1"]


async def test_a_pinned_request_and_other_hosts_pass_untouched() -> None:
    network = Network()
    async with client(network) as http:
        pinned = [(await http.get("/readyz", extensions={PINNED: True})).text for _ in range(3)]
        other = await http.get("http://10.0.0.9:8102/readyz")
    assert pinned == ["10.0.0.1"] * 3
    assert other.text == "10.0.0.9"


async def test_one_replica_means_no_balancing_layer() -> None:
    inner = httpx.MockTransport(Network())
    assert balanced(inner, {"clients": [A]}) is inner
    assert isinstance(balanced(inner, {"clients": [A, B]}), BalancingTransport)
    with pytest.raises(ValueError, match="no replica"):
        ReplicaSet("clients", [])


def test_a_url_list_keeps_the_first_as_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CLIENTS_URL", f"{A}/, {B}")
    monkeypatch.setenv("POLICIES_IDENTITY_URL", "http://10.0.0.1:8000,http://10.0.0.2:8000")
    gateway = GatewaySettings()
    assert gateway.upstream_urls()["clients"] == A
    assert gateway.replicas == {"clients": [A, B]}
    policies = PoliciesSettings()
    assert policies.identity_url == "http://10.0.0.1:8000"
    assert policies.replicas == {"identity": ["http://10.0.0.1:8000", "http://10.0.0.2:8000"]}
    assert split_urls(" http://x:1/ ,, http://y:2") == ["http://x:1", "http://y:2"]


async def test_readiness_fails_from_the_first_stop_signal(stack: Stack) -> None:
    async with stack.client("clients") as http:
        assert (await http.get("/readyz")).status_code == 200
        draining.begin()
        try:
            answer = await http.get("/readyz")
        finally:
            draining.reset()
        assert answer.status_code == 503
        assert answer.json()["checks"]["draining"] == {"status": "stopping"}
        assert (await http.get("/readyz")).status_code == 200
