"""``python -m bench.gateway_hop``: the gateway's own CPU per proxied GET, and per background poll.

``--steady SECONDS`` instead runs the gateway under uvicorn (``launcher.serve``) in front of the
same stub and drives GETs at ``--rate`` per second (open loop, ``bench.driver``), alternately
straight to the stub and through the gateway, while seven pollers ask for the revocations feed
each second and the webhook dispatcher pulls its seven feeds every 2 s: the hop (p50/p99 through
the gateway less straight), the gateway process's CPU per request (``/proc``) and how long per
request its threads waited for a CPU while ready to run (``/proc/<pid>/task/*/schedstat``).

The gateway app (its real lifespan and middleware) is called in process as an ASGI callable; the
upstream it forwards to is a stub HTTP server in a child process (a fixed client-sized JSON answer),
so this process's CPU time (``time.process_time``) is the gateway's work alone: its middleware, the
forwarding and its HTTP client, not uvicorn's parsing of the incoming request. Also measured: one
answer to a service's revocation poll (``GET /api/v1/auth/revocations``) and one idle round of the
webhook dispatcher. The gateway's own tables live in a throwaway database on
``CRM_TEST_DATABASE_URL``'s server, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.driver import in_own_process
from bench.inprocess import _call
from launcher import throwaway

DATABASE = "crm_gateway_hop"
_STUB = r"""
import sys
from aiohttp import web

BODY = b'{"id":"7b4e3a52-8f0c-4c57-9a57-0f4a3c1f6a11","name":"Zhang San","x":"' + b"y" * 600 + b'"}'

FEED = b'{"items":[],"next_cursor":"c1","has_more":false}'

async def answer(request):
    if request.path.endswith("/events"):
        return web.Response(body=FEED, content_type="application/json")
    return web.Response(body=BODY, content_type="application/json",
                        headers={"ETag": '"v1"', "X-Request-ID": request.headers.get("x-request-id", "")})

app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _next_second(app: Any) -> None:
    """The seven services poll once a second each: every seventh poll starts a new second, where the
    gateway keeps its feed's answers no longer (``FeedAnswers``, when the tree has it)."""
    feed = getattr(app.state, "revocation_feed", None)
    if feed is not None:
        feed.forget_all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_port(port: int, what: str, seconds: float = 60.0) -> None:
    """Until something accepts connections on ``port`` (a loaded machine starts an app slowly)."""
    for _ in range(int(seconds / 0.05)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {seconds:.0f} s")


async def run(args: argparse.Namespace, url: str, port: int) -> dict[str, Any]:
    from crmkit.auth import Role, issue_access_token
    from crmkit.peers import revocations_reader_token
    from gateway.config import UPSTREAMS, Settings
    from gateway.main import create_app

    stub = f"http://127.0.0.1:{port}"
    upstreams: dict[str, Any] = {f"{name}_url": stub for name in UPSTREAMS}
    settings = Settings(
        environment="development",
        database_url=url.replace("postgresql://", "postgresql+asyncpg://", 1),
        db_pool_size=2,
        db_max_overflow=1,
        revocation_poll_seconds=0,
        log_level="WARNING",
        webhook_dispatch_interval_seconds=0,
        rate_limit="1000000/minute",
        **upstreams,
    )
    app = create_app(settings)
    user = issue_access_token(
        settings, user_id=uuid.uuid4(), role=Role.AGENT, team_id=uuid.uuid4(), ttl=timedelta(hours=1)
    )
    auth = [(b"authorization", f"Bearer {user}".encode())]
    figures: dict[str, list[float]] = {}

    def ops_token() -> list[tuple[bytes, bytes]]:
        token = revocations_reader_token(settings)
        return [(b"authorization", f"Bearer {token}".encode())]

    async with app.router.lifespan_context(app):
        dispatcher = app.state.webhook_dispatcher
        since = time.time() - 60
        for _ in range(50):
            assert await _call(app, "GET", f"/api/v1/clients/{uuid.uuid4()}", auth, b"") == 200
            assert await _call(app, "GET", f"/api/v1/auth/revocations?since={since}", ops_token(), b"") == 200
        for _ in range(args.rounds):
            cpu = time.process_time()
            for _ in range(args.requests):
                await _call(app, "GET", f"/api/v1/clients/{uuid.uuid4()}", auth, b"")
            figures.setdefault("proxied_get", []).append((time.process_time() - cpu) * 1000 / args.requests)
            polls = [ops_token() for _ in range(args.polls)]
            cpu = time.process_time()
            for number, headers in enumerate(polls):
                if number % 7 == 0:
                    _next_second(app)
                await _call(app, "GET", f"/api/v1/auth/revocations?since={since}", headers, b"")
            figures.setdefault("revocation_poll", []).append((time.process_time() - cpu) * 1000 / args.polls)
            cpu = time.process_time()
            for _ in range(args.polls // 10):
                await dispatcher.run_once()
            figures.setdefault("dispatcher_round", []).append(
                (time.process_time() - cpu) * 1000 / (args.polls // 10)
            )
    return {
        name: {
            "median_cpu_ms": round(statistics.median(v), 3),
            "min_cpu_ms": round(min(v), 3),
            "rounds": [round(x, 3) for x in v],
        }
        for name, v in figures.items()
    }


def _process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runqueue_wait_seconds(pid: int) -> float:
    """How long the process's threads were ready to run but waiting for a CPU (the second field of
    ``/proc/<pid>/task/<tid>/schedstat``, nanoseconds): the share of a tail that is the machine's
    contention, not the event loop's own work."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


async def _poll_revocations(base: str, token: str, stop: asyncio.Event) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            for _ in range(7):
                async with session.get(
                    f"{base}/api/v1/auth/revocations",
                    params={"since": "0"},
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    await response.read()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


def steady(args: argparse.Namespace, url: str, port: int) -> dict[str, Any]:
    from crmkit.auth import Role, issue_access_token
    from crmkit.peers import revocations_reader_token
    from crmkit.settings import CommonSettings
    from gateway.config import UPSTREAMS

    stub = f"http://127.0.0.1:{port}"
    gateway_port = _free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_DB_POOL_SIZE": "2",
        "CRM_LOG_LEVEL": "WARNING",
        "GATEWAY_RATE_LIMIT": "100000000/minute",
        "GATEWAY_REVOCATION_POLL_SECONDS": "1",
        **{f"GATEWAY_{name.upper()}_URL": stub for name in UPSTREAMS},
    }
    gateway = subprocess.Popen(  # noqa: S603 (our own launcher)
        [sys.executable, "-m", "launcher.serve", "gateway.main:app", "--port", str(gateway_port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    settings = CommonSettings(environment="development")
    user = issue_access_token(
        settings, user_id=uuid.uuid4(), role=Role.AGENT, team_id=uuid.uuid4(), ttl=timedelta(hours=1)
    )
    ops = revocations_reader_token(settings, ttl=timedelta(hours=1))
    actors = [{"token": user, "client_ids": [str(uuid.uuid4()) for _ in range(100)]}]
    spec = {
        "kind": "get_client",
        "actors": actors,
        "mode": "open",
        "rate": args.rate,
        "duration": args.steady,
    }
    figures: dict[str, list[float]] = {}
    try:
        asyncio.run(_wait_port(gateway_port, "the gateway"))
        time.sleep(3)  # past the lifespan's first passes
        gateway_url = f"http://127.0.0.1:{gateway_port}"

        async def measured() -> None:
            stop = asyncio.Event()
            pollers = asyncio.create_task(_poll_revocations(gateway_url, ops, stop))
            try:
                for _ in range(args.rounds):
                    direct = await asyncio.to_thread(
                        in_own_process, {**spec, "name": "direct", "base_url": stub}
                    )
                    cpu = _process_cpu_seconds(gateway.pid)
                    waited = _runqueue_wait_seconds(gateway.pid)
                    via = await asyncio.to_thread(
                        in_own_process, {**spec, "name": "via", "base_url": gateway_url}
                    )
                    cpu = _process_cpu_seconds(gateway.pid) - cpu
                    waited = _runqueue_wait_seconds(gateway.pid) - waited
                    for name, value in (
                        ("hop_p50_ms", via["p50_ms"] - direct["p50_ms"]),
                        ("hop_p99_ms", via["p99_ms"] - direct["p99_ms"]),
                        ("direct_p50_ms", direct["p50_ms"]),
                        ("direct_p99_ms", direct["p99_ms"]),
                        ("gateway_cpu_ms_per_request", cpu * 1000 / via["requests"]),
                        ("gateway_runqueue_ms_per_request", waited * 1000 / via["requests"]),
                        ("non_2xx", via["non_2xx"] + via["errors"]),
                    ):
                        figures.setdefault(name, []).append(round(value, 3))
            finally:
                stop.set()
                await pollers

        asyncio.run(measured())
    finally:
        gateway.terminate()
        gateway.wait()
    return {name: {"median": round(statistics.median(v), 3), "rounds": v} for name, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_hop", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default=DATABASE, help="the throwaway database's name")
    parser.add_argument("--steady", type=float, default=0, help="seconds per steady-rate round (see above)")
    parser.add_argument("--rate", type=float, default=300)
    args = parser.parse_args()
    server = os.environ.get("CRM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    from crmkit.migrations import upgrade_to_head
    from gateway.main import MIGRATIONS

    url = throwaway.recreate_database(server, args.database)
    port = _free_port()
    stub = subprocess.Popen([sys.executable, "-c", _STUB, str(port)])  # noqa: S603 (our own code)
    try:
        upgrade_to_head(MIGRATIONS, url)
        asyncio.run(_wait_port(port, "the stub upstream"))
        result = steady(args, url, port) if args.steady else asyncio.run(run(args, url, port))
        print(json.dumps(result))
    finally:
        stub.terminate()
        stub.wait()
        throwaway.drop_database(server, args.database)


if __name__ == "__main__":
    main()
