"""Webhooks: subscriptions at the gateway, signed deliveries to a real local HTTP receiver,
retries with backoff, the delivery log, replay, and the SSRF guard."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web

from gateway.webhooks.dispatcher import RETRY_AFTER_SECONDS, Dispatcher
from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Person, Stack
from tests.test_events_outbox import SETTLE_SECONDS

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"


def verify(secret: str, body: bytes, signature_header: str, tolerance: int = 300) -> bool:
    """The receiver's check, exactly as in docs/events-and-sync.md."""
    fields = dict(part.split("=", 1) for part in signature_header.split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Status codes to answer in turn; 200 once they run out."""


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real HTTP server on 127.0.0.1 (an ephemeral port) that records what it is sent."""
    state = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        state.requests.append(Received(dict(request.headers), await request.read()))
        return web.Response(status=state.answers.pop(0) if state.answers else 200, text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
def allow_private(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local receiver is on loopback: tests allow that explicitly (production refuses it)."""
    monkeypatch.setattr(stack.apps["gateway"].state.settings, "webhook_allow_private_targets", True)


@pytest.fixture
def dispatcher(stack: Stack) -> Dispatcher:
    found: Dispatcher = stack.apps["gateway"].state.webhook_dispatcher
    return found


async def subscribe(
    api: httpx.AsyncClient, person: Person, url: str, types: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    response = await api.post(
        SUBSCRIPTIONS,
        json={"url": url, "event_types": types or ["client.*"], **extra},
        headers=person.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def dispatch_until(dispatcher: Dispatcher, receiver: Receiver, count: int) -> None:
    """Passes until the receiver has ``count`` requests (events wait behind open transactions)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while len(receiver.requests) < count and asyncio.get_running_loop().time() < deadline:
        await dispatcher.run_once()
        if len(receiver.requests) < count:
            await asyncio.sleep(0.05)


async def deliveries(api: httpx.AsyncClient, person: Person, subscription_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"{SUBSCRIPTIONS}/{subscription_id}/deliveries", headers=person.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def count(stack: Stack, table: str) -> int:
    rows = await stack.fetch(f"SELECT count(*) AS n FROM identity.{table}")  # noqa: S608 - our own table names
    return int(rows[0]["n"])


class TestSubscriptions:
    async def test_an_admin_registers_one_and_sees_the_secret_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack, allow_private: None, receiver: Receiver
    ) -> None:
        created = await subscribe(api, people.admin, receiver.url, ["client.created", "claim.*"])
        assert created["secret"].startswith("whsec_")
        assert created["event_types"] == ["claim.*", "client.created"]
        fetched = await api.get(f"{SUBSCRIPTIONS}/{created['id']}", headers=people.admin.headers)
        assert fetched.headers["ETag"] == 'W/"1"'
        assert "secret" not in fetched.json()
        stored = await stack.fetch("SELECT secret_cipher FROM identity.webhook_subscriptions")
        assert created["secret"].encode() not in bytes(stored[0]["secret_cipher"])
        audit = await stack.fetch(
            "SELECT action, after::text AS after FROM identity.audit_log WHERE action LIKE 'webhook%'"
        )
        assert [r["action"] for r in audit] == ["webhook_subscription.created"]
        assert created["secret"] not in audit[0]["after"]

    async def test_an_admins_api_key_needs_the_webhooks_scope(
        self, api: httpx.AsyncClient, people: People, allow_private: None, receiver: Receiver
    ) -> None:
        keys = {}
        for scope in ("webhooks", "clients:read"):
            made = await api.post(
                "/api/v1/api-keys",
                json={"name": f"integrator {scope}", "user_id": str(people.admin.user_id), "scopes": [scope]},
                headers=people.admin.headers,
            )
            assert made.status_code == 201, made.text
            keys[scope] = made.json()["key"]
        body = {"url": receiver.url, "event_types": ["*"]}
        allowed = await api.post(SUBSCRIPTIONS, json=body, headers={"X-API-Key": keys["webhooks"]})
        assert allowed.status_code == 201, allowed.text
        refused = await api.post(SUBSCRIPTIONS, json=body, headers={"X-API-Key": keys["clients:read"]})
        assert_problem(refused, 403)

    async def test_agents_may_not_subscribe(
        self, api: httpx.AsyncClient, people: People, stack: Stack, allow_private: None, receiver: Receiver
    ) -> None:
        response = await api.post(
            SUBSCRIPTIONS, json={"url": receiver.url, "event_types": ["*"]}, headers=people.agent.headers
        )
        assert_problem(response, 403)
        assert await count(stack, "webhook_subscriptions") == 0

    async def test_changes_and_removal_need_if_match(
        self, api: httpx.AsyncClient, people: People, allow_private: None, receiver: Receiver
    ) -> None:
        created = await subscribe(api, people.admin, receiver.url)
        path = f"{SUBSCRIPTIONS}/{created['id']}"
        missing = await api.patch(path, json={"is_active": False}, headers=people.admin.headers)
        assert_problem(missing, 428)
        stale = await api.patch(
            path, json={"is_active": False}, headers={**people.admin.headers, "If-Match": 'W/"9"'}
        )
        assert_problem(stale, 412)
        paused = await api.patch(
            path, json={"is_active": False}, headers={**people.admin.headers, "If-Match": 'W/"1"'}
        )
        assert paused.status_code == 200, paused.text
        assert (paused.json()["is_active"], paused.json()["version"]) == (False, 2)
        removed = await api.delete(path, headers={**people.admin.headers, "If-Match": 'W/"2"'})
        assert removed.status_code == 204
        gone = await api.get(path, headers=people.admin.headers)
        assert_problem(gone, 404)

    async def test_the_gateway_documents_the_webhooks_api(self, api: httpx.AsyncClient) -> None:
        document = (await api.get("/openapi.json")).json()
        assert "/api/v1/webhooks/subscriptions" in document["paths"]
        assert "/api/v1/webhooks/deliveries/{delivery_id}/replay" in document["paths"]


class TestRefusedTargets:
    async def test_a_url_that_is_not_http_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        for url in (
            "ftp://example.com/hook",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "hooks.example.com/x",
        ):
            response = await api.post(
                SUBSCRIPTIONS, json={"url": url, "event_types": ["*"]}, headers=people.admin.headers
            )
            problem = assert_problem(response, 422, field="url")
            assert "http" in problem["detail"]
        assert await count(stack, "webhook_subscriptions") == 0

    async def test_private_and_loopback_targets_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        for url in (
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://0.0.0.0/hook",
        ):
            response = await api.post(
                SUBSCRIPTIONS, json={"url": url, "event_types": ["*"]}, headers=people.admin.headers
            )
            problem = assert_problem(response, 422, field="url")
            assert "address" in problem["detail"], url
        assert await count(stack, "webhook_subscriptions") == 0
        assert await stack.fetch("SELECT 1 FROM identity.audit_log WHERE action LIKE 'webhook%'") == []

    async def test_a_change_to_a_private_target_is_refused_and_changes_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        created = await api.post(
            SUBSCRIPTIONS,
            json={"url": "https://93.184.215.14/hook", "event_types": ["*"]},
            headers=people.admin.headers,
        )
        assert created.status_code == 201, created.text
        response = await api.patch(
            f"{SUBSCRIPTIONS}/{created.json()['id']}",
            json={"url": "http://10.0.0.7/hook"},
            headers={**people.admin.headers, "If-Match": 'W/"1"'},
        )
        assert_problem(response, 422, field="url")
        stored = await stack.fetch("SELECT url, version FROM identity.webhook_subscriptions")
        assert [(r["url"], r["version"]) for r in stored] == [("https://93.184.215.14/hook", 1)]

    async def test_plain_http_is_refused_outside_development(
        self, api: httpx.AsyncClient, people: People, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(stack.apps["gateway"].state.settings, "environment", "production")
        response = await api.post(
            SUBSCRIPTIONS,
            json={"url": "http://93.184.215.14/hook", "event_types": ["*"]},
            headers=people.admin.headers,
        )
        problem = assert_problem(response, 422, field="url")
        assert "https" in problem["detail"]
        assert await count(stack, "webhook_subscriptions") == 0

    async def test_a_target_is_checked_again_at_delivery(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        receiver: Receiver,
        dispatcher: Dispatcher,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        settings = stack.apps["gateway"].state.settings
        monkeypatch.setattr(settings, "webhook_allow_private_targets", True)
        subscription = await subscribe(api, people.admin, receiver.url)
        monkeypatch.setattr(settings, "webhook_allow_private_targets", False)  # e.g. DNS now points inside
        await create_client(api, people.agent)
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        log: list[dict[str, Any]] = []
        while not log and asyncio.get_running_loop().time() < deadline:
            await dispatcher.run_once()
            log = await deliveries(api, people.admin, subscription["id"])
        assert receiver.requests == []
        assert [(d["status"], d["attempts"], d["response_status"]) for d in log] == [("pending", 1, None)]
        assert log[0]["last_error"].startswith("target refused")


class TestDelivery:
    async def test_a_committed_change_is_delivered_signed_and_masked(
        self,
        api: httpx.AsyncClient,
        people: People,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        subscription = await subscribe(api, people.admin, receiver.url, ["client.created"])
        client = await create_client(api, people.agent, phone="13812345678")
        await dispatch_until(dispatcher, receiver, 1)

        assert len(receiver.requests) == 1
        sent = receiver.requests[0]
        assert verify(subscription["secret"], sent.body, sent.headers["X-CRM-Signature"])
        assert not verify("whsec_some_other_secret", sent.body, sent.headers["X-CRM-Signature"])
        assert sent.headers["X-CRM-Timestamp"] == sent.headers["X-CRM-Signature"].split(",")[0][2:]
        event = json.loads(sent.body)
        assert set(event) == {"id", "type", "occurred_at", "resource"}
        assert sent.headers["X-CRM-Event-Id"] == event["id"]
        assert event["type"] == "client.created"
        assert event["resource"]["type"] == "client"
        assert event["resource"]["id"] == client["id"]
        assert event["resource"]["data"]["phone"] == client["phone"]
        assert b"13812345678" not in sent.body

        log = await deliveries(api, people.admin, subscription["id"])
        assert [(d["status"], d["attempts"], d["response_status"], d["event_id"]) for d in log] == [
            ("delivered", 1, 200, event["id"])
        ]
        assert log[0]["latency_ms"] >= 0

    async def test_only_subscribed_types_are_delivered(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        claims = await subscribe(api, people.admin, receiver.url, ["claim.*"])
        every = await subscribe(api, people.admin, receiver.url, ["*"])
        await create_client(api, people.agent)
        await dispatch_until(dispatcher, receiver, 1)
        assert await deliveries(api, people.admin, claims["id"]) == []
        assert [d["event_type"] for d in await deliveries(api, people.admin, every["id"])] == [
            "client.created"
        ]

    async def test_failures_back_off_then_give_up_after_about_an_hour(
        self,
        api: httpx.AsyncClient,
        people: People,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        subscription = await subscribe(api, people.admin, receiver.url)
        receiver.answers = [500] * 10
        await create_client(api, people.agent)
        await dispatch_until(dispatcher, receiver, 1)
        first = (await deliveries(api, people.admin, subscription["id"]))[0]
        assert (first["status"], first["attempts"], first["response_status"]) == ("pending", 1, 500)

        waits: list[float] = []
        last = datetime.fromisoformat(first["last_attempt_at"])
        due = datetime.fromisoformat(first["next_attempt_at"])
        for _ in RETRY_AFTER_SECONDS:
            waits.append((due - last).total_seconds())
            early = await dispatcher.run_once(now=due - timedelta(seconds=1))
            assert early.attempted == 0  # not due yet
            await dispatcher.run_once(now=due)
            state = (await deliveries(api, people.admin, subscription["id"]))[0]
            if state["next_attempt_at"] is None:
                break
            last, due = due, datetime.fromisoformat(state["next_attempt_at"])

        for wait, planned in zip(waits, RETRY_AFTER_SECONDS, strict=True):
            assert planned * 0.9 <= wait <= planned * 1.1
        final = (await deliveries(api, people.admin, subscription["id"]))[0]
        assert (final["status"], final["attempts"], final["response_status"]) == ("failed", 6, 500)
        assert final["last_error"] == "answered 500"
        assert len(receiver.requests) == 6
        assert len({r.headers["X-CRM-Event-Id"] for r in receiver.requests}) == 1
        assert sum(waits) >= 55 * 60  # six tries spread over about an hour

    async def test_a_failed_delivery_can_be_replayed(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        subscription = await subscribe(api, people.admin, receiver.url)
        receiver.answers = [503]
        await create_client(api, people.agent)
        await dispatch_until(dispatcher, receiver, 1)
        failed = (await deliveries(api, people.admin, subscription["id"]))[0]
        assert failed["response_status"] == 503

        replay = await api.post(
            f"/api/v1/webhooks/deliveries/{failed['id']}/replay", headers=people.admin.headers
        )
        assert replay.status_code == 202, replay.text
        assert replay.json()["status"] == "pending"
        log = f"/api/v1/webhooks/subscriptions/{subscription['id']}/deliveries"
        assert replay.headers["location"] == log
        await dispatch_until(dispatcher, receiver, 2)
        done = (await deliveries(api, people.admin, subscription["id"]))[0]
        assert (done["status"], done["attempts"], done["response_status"]) == ("delivered", 2, 200)
        assert receiver.requests[0].body == receiver.requests[1].body
        missing = await api.post(
            f"/api/v1/webhooks/deliveries/{uuid.uuid4()}/replay", headers=people.admin.headers
        )
        assert_problem(missing, 404)
        actions = await stack.fetch(
            "SELECT action FROM identity.audit_log WHERE action = 'webhook_delivery.replayed'"
        )
        assert len(actions) == 1

    async def test_a_paused_subscription_keeps_its_deliveries_until_resumed(
        self,
        api: httpx.AsyncClient,
        people: People,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        subscription = await subscribe(api, people.admin, receiver.url)
        await create_client(api, people.agent)
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while not await deliveries(api, people.admin, subscription["id"]):
            assert asyncio.get_running_loop().time() < deadline
            await dispatcher.pull("clients", dispatcher.upstreams["clients"])
        path = f"{SUBSCRIPTIONS}/{subscription['id']}"
        paused = await api.patch(
            path, json={"is_active": False}, headers={**people.admin.headers, "If-Match": 'W/"1"'}
        )
        assert paused.status_code == 200, paused.text
        await dispatcher.run_once()
        waiting = await deliveries(api, people.admin, subscription["id"])
        assert [(d["status"], d["attempts"]) for d in waiting] == [("pending", 0)]
        assert receiver.requests == []
        resumed = await api.patch(
            path, json={"is_active": True}, headers={**people.admin.headers, "If-Match": 'W/"2"'}
        )
        assert resumed.status_code == 200, resumed.text
        await dispatch_until(dispatcher, receiver, 1)
        assert [d["status"] for d in await deliveries(api, people.admin, subscription["id"])] == ["delivered"]

    async def test_two_dispatchers_never_send_one_delivery_twice(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        await subscribe(api, people.admin, receiver.url)
        for i in range(6):
            await create_client(api, people.agent, name=f"Client {i}")
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while await count(stack, "webhook_deliveries") < 6 and asyncio.get_running_loop().time() < deadline:
            await dispatcher.pull("clients", dispatcher.upstreams["clients"])
        replica = Dispatcher(
            settings=dispatcher.settings,
            sessions=dispatcher.sessions,
            upstream=dispatcher.upstream,
            upstreams=dispatcher.upstreams,
            delivery=dispatcher.delivery,
        )
        now = datetime.now(UTC)
        results = await asyncio.gather(*(d.deliver_due(now=now) for d in (dispatcher, replica, dispatcher)))
        assert sum(attempted for attempted, _ in results) == 6
        assert len(receiver.requests) == 6
        assert len({r.headers["X-CRM-Event-Id"] for r in receiver.requests}) == 6


async def caught_up(dispatcher: Dispatcher, service: str) -> None:
    """Pull until the pass queues nothing: this process has read the whole feed."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while await dispatcher.pull(service, dispatcher.upstreams[service]):
        assert asyncio.get_running_loop().time() < deadline


class TestIdleFeeds:
    """Once a process has read a feed to its end, a pass asks the service first whether anything
    came after (one GET), and opens a transaction only when something did."""

    async def test_an_idle_feed_is_checked_without_the_cursor_table(
        self, stack: Stack, dispatcher: Dispatcher
    ) -> None:
        await caught_up(dispatcher, "clients")
        holder = await asyncpg.connect(stack.database_url)
        try:
            async with holder.transaction():
                # Any read of the stored cursor would wait for this lock.
                await holder.execute("LOCK TABLE identity.event_feed_cursors IN ACCESS EXCLUSIVE MODE")
                queued = await asyncio.wait_for(
                    dispatcher.pull("clients", dispatcher.upstreams["clients"]), SETTLE_SECONDS
                )
        finally:
            await holder.close()
        assert queued == 0

    async def test_events_after_an_idle_check_are_queued_once(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        await caught_up(dispatcher, "clients")
        await subscribe(api, people.admin, receiver.url)
        await create_client(api, people.agent)
        await dispatch_until(dispatcher, receiver, 1)
        await dispatcher.run_once()
        assert len(receiver.requests) == 1
        assert await count(stack, "webhook_deliveries") == 1

    async def test_a_cursor_another_replica_moved_is_read_from_the_table(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        allow_private: None,
        receiver: Receiver,
        dispatcher: Dispatcher,
    ) -> None:
        await caught_up(dispatcher, "clients")
        await subscribe(api, people.admin, receiver.url)
        replica = Dispatcher(  # no forwarder: every pull of this one takes the locked path
            settings=dispatcher.settings,
            sessions=dispatcher.sessions,
            upstream=dispatcher.upstream,
            upstreams=dispatcher.upstreams,
            delivery=dispatcher.delivery,
        )
        await create_client(api, people.agent)
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while not await replica.pull("clients", replica.upstreams["clients"]):
            assert asyncio.get_running_loop().time() < deadline
        stored = await stack.fetch("SELECT cursor FROM identity.event_feed_cursors WHERE service = 'clients'")
        assert await dispatcher.pull("clients", dispatcher.upstreams["clients"]) == 0
        assert await count(stack, "webhook_deliveries") == 1
        again = await stack.fetch("SELECT cursor FROM identity.event_feed_cursors WHERE service = 'clients'")
        assert again == stored
