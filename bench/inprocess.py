"""``python -m bench.inprocess``: the clients service's hot paths called in process, CPU per request.

The app (its real lifespan, pools and middleware) is called as an ASGI callable, no socket and no
server in between, ``--requests`` times per path, in rounds; the figure is this process's CPU time
per request (``time.process_time``: the app and the asyncpg client; PostgreSQL's own work is not
in it). Much less moved by other load on a shared machine than a latency, so it is what an A/B of a
change to the service's own code is read from. Needs the database ``python -m bench.profile`` loads
(``crm_hotpaths``, on ``CRM_TEST_DATABASE_URL``'s server). Paths: GET a client by id, the filtered
list of 50, POST a client with an Idempotency-Key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from bench.profile import DATABASE, _state_file
from launcher.throwaway import with_database


async def _call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1"), *headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8101),
        "app": app,
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from crmkit.auth import Role, issue_access_token
    from crmkit.settings import CommonSettings
    from services.clients.main import app

    raw = json.loads(_state_file().read_text())
    agent = raw["agents"][1]
    settings = CommonSettings(environment="development")
    token = issue_access_token(
        settings,
        user_id=uuid.UUID(agent["user_id"]),
        role=Role.AGENT,
        team_id=uuid.UUID(agent["team_id"]),
        ttl=timedelta(hours=1),
    )
    auth = [(b"authorization", f"Bearer {token}".encode())]
    rng = random.Random(5)
    figures: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}

    def get() -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
        return "GET", f"/api/v1/clients/{rng.choice(agent['clients'])}", auth, b""

    def page() -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
        return "GET", "/api/v1/clients?limit=50&channel=referral", auth, b""

    def create() -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
        body = json.dumps({"name": "压测客户", "gender": "female", "channel": "cold"}).encode()
        headers = [
            *auth,
            (b"content-type", b"application/json"),
            (b"idempotency-key", str(uuid.uuid4()).encode()),
        ]
        return "POST", "/api/v1/clients", headers, body

    paths = {"get": get, "list": page, "create": create}
    async with app.router.lifespan_context(app):
        for name, make in paths.items():  # warm: routes, statement caches, pools
            for _ in range(30):
                status = await _call(app, *make())
                assert status < 300, (name, status)
        for _ in range(args.rounds):
            for name, make in paths.items():
                if args.path and name not in args.path:
                    continue
                cpu = time.process_time()
                for _ in range(args.requests):
                    started = time.perf_counter()
                    await _call(app, *make())
                    walls.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                figures.setdefault(name, []).append((time.process_time() - cpu) * 1000 / args.requests)
    return {
        name: {
            "median_cpu_ms": round(statistics.median(v), 3),
            "rounds": [round(x, 3) for x in v],
            "wall_p50_ms": round(statistics.median(walls[name]), 3),
        }
        for name, v in figures.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--path", action="append", choices=["get", "list", "create"])
    args = parser.parse_args()
    server = os.environ.get("CRM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    os.environ.setdefault("CRM_DATABASE_URL", with_database(server, DATABASE))
    os.environ.setdefault("CRM_LOG_LEVEL", "WARNING")
    import uvloop

    print(json.dumps(uvloop.run(run(args))))


if __name__ == "__main__":
    main()
