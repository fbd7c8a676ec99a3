"""A background loop's own token is reused, and the caches of verified tokens keep only live ones.

Each service polls the gateway's revocations once a second; signing a fresh token for every poll
filled the gateway's verified-token caches with thousands of tokens used once (several MB of its
memory after a long run: bench/README.md, "RSS"). Now a loop signs one token per half lifetime,
and the caches drop expired entries as they grow.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import httpx

from crmkit.auth import (
    SWEEP_FLOOR,
    Principal,
    Role,
    ServiceToken,
    VerifiedTokens,
    decode_access_token,
    issue_access_token,
)
from crmkit.peers import gateway_revocations
from gateway.rate_limit import REMEMBER_SECONDS, TokenActors
from tests.conftest import Stack


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def principal() -> Principal:
    return Principal(user_id=uuid.uuid4(), role=Role.AGENT, team_id=None)


class TestServiceToken:
    def test_one_token_until_half_its_life_is_gone_then_a_new_one(self) -> None:
        signed: list[timedelta] = []
        clock = Clock()

        def sign(ttl: timedelta) -> str:
            signed.append(ttl)
            return f"token-{len(signed)}"

        token = ServiceToken(sign, timedelta(minutes=1), clock=clock)

        assert token() == token() == "token-1"
        clock.now += 29.9
        assert token() == "token-1"
        clock.now += 0.1
        assert token() == "token-2"
        assert signed == [timedelta(minutes=1), timedelta(minutes=1)]


class TestVerifiedTokens:
    def test_expired_tokens_are_swept_as_it_grows(self) -> None:
        cache = VerifiedTokens()
        for i in range(SWEEP_FLOOR):
            cache.put(f"expired-{i}", time.time() - 1, principal())
        live = principal()

        cache.put("live", time.time() + 60, live)

        assert len(cache) == 1
        assert cache.get("live") is live

    def test_live_tokens_are_kept_and_the_next_sweep_waits_for_twice_as_many(self) -> None:
        cache = VerifiedTokens()
        for i in range(SWEEP_FLOOR):
            cache.put(f"live-{i}", time.time() + 60, principal())
        for i in range(SWEEP_FLOOR + 1):
            cache.put(f"more-{i}", time.time() + 60, principal())

        assert len(cache) == 2 * SWEEP_FLOOR + 1
        assert cache.get("live-0") is not None

    def test_still_bounded_when_every_token_is_live(self) -> None:
        cache = VerifiedTokens(max_entries=SWEEP_FLOOR)
        for i in range(SWEEP_FLOOR + 1):
            cache.put(f"live-{i}", time.time() + 60, principal())

        assert len(cache) == 1


class TestTokenActors:
    async def test_tokens_not_seen_for_a_minute_are_swept_as_it_grows(self, stack: Stack) -> None:
        settings = stack.apps["gateway"].state.settings
        actors = TokenActors(settings)
        stale = time.monotonic() - REMEMBER_SECONDS - 1
        for i in range(SWEEP_FLOOR):
            actors._actors[f"old-{i}".encode()] = (f"user:{i}", stale)
        caller = issue_access_token(settings, user_id=uuid.uuid4(), role=Role.AGENT, team_id=None)

        actor = actors.actor_of([(b"authorization", f"Bearer {caller}".encode())])

        assert actor == f"user:{decode_access_token(settings, caller).user_id}"
        assert list(actors._actors) == [caller.encode()]


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.authorizations: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.authorizations.append(request.headers["authorization"])
        return await self.inner.handle_async_request(request)


class TestRevocationPolls:
    async def test_a_service_polls_with_one_token_which_the_gateway_accepts(self, stack: Stack) -> None:
        service = stack.apps["clients"]
        recording = Recording(stack.mesh)
        async with httpx.AsyncClient(transport=recording) as http:
            app = SimpleNamespace(state=SimpleNamespace(settings=service.state.settings, peer_http=http))
            fetch = gateway_revocations(app)  # type: ignore[arg-type]

            first = await fetch(0.0)
            second = await fetch(0.0)
            third = await fetch(time.time())

        assert first == second
        assert third == []
        assert len(recording.authorizations) == 3
        assert len(set(recording.authorizations)) == 1
