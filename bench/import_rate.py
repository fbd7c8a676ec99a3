"""CSV import rate: 10,000 valid clients through the gateway, dry run then the real job.

``python -m bench.import_rate`` (``CRM_TEST_DATABASE_URL`` names the server, else the embedded one):
a fresh ``crm_bench_import`` database → migrations → the gateway and the clients service in
process (real PostgreSQL, HTTP through the gateway) → one agent → a 10,000-row CSV with unique
valid resident IDs and phones → ``POST /api/v1/clients/imports?dry_run=true``, then
``dry_run=false`` and polling the job until it ends. Prints the seconds and rows/s of each.
Nothing is asserted (the target is 10,000 rows in under 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from stdnum.cn import ric

from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.testing import MeshTransport
from launcher.apps import ALL_APPS
from launcher.throwaway import database_server, drop_database, recreate_database

DATABASE = "crm_bench_import"
ROWS = 10_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def say(message: str) -> None:
    print(f"import-rate | {message}", flush=True)


def build_csv(rows: int, seed: int = 11) -> bytes:
    """A realistic file: Chinese headers, unique valid resident IDs and mobile numbers."""
    rng = random.Random(seed)
    lines = ["姓名,性别,手机号,身份证号,职业,渠道"]
    for serial in range(rows):
        birth = date(1960, 1, 1) + timedelta(days=serial)  # one birthday each: the IDs are unique
        body = f"110101{birth:%Y%m%d}{rng.randrange(1000):03d}"
        resident_id = body + ric.calc_check_digit(body + "0")
        phone = f"139{serial:08d}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        gender = rng.choice("男女")
        lines.append(f"{name},{gender},{phone},{resident_id},教师,缘故")
    return ("\n".join(lines) + "\n").encode()


@contextlib.asynccontextmanager
async def in_process_stack(url: str) -> AsyncIterator[dict[str, FastAPI]]:
    from gateway.config import Settings as GatewaySettings
    from gateway.main import create_app as create_gateway
    from services.clients.config import Settings as ClientsSettings
    from services.clients.main import create_app as create_clients

    mesh = MeshTransport()
    common: dict[str, Any] = {"database_url": url, "environment": "test", "log_level": "WARNING"}
    apps = {
        "gateway": create_gateway(
            GatewaySettings(**common, clients_url="http://clients.internal", rate_limit="1000000/minute"),
            transport=mesh,
        ),
        "clients": create_clients(
            ClientsSettings(**common, identity_url="http://gateway.internal"), transport=mesh
        ),
    }
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app)
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield apps


async def measure(url: str) -> None:
    async with in_process_stack(url) as apps:
        from gateway.identity import service as identity

        gateway = apps["gateway"]
        async with gateway.state.sessions() as session:
            team = await identity.create_team(session=session, name="Bench")
            user = await identity.create_user(
                session=session,
                settings=gateway.state.settings,
                email="importer@bench.crm",
                password="bench password 123",  # noqa: S106 - a throwaway user
                full_name="Importer",
                role=Role.AGENT,
                team_id=team.id,
            )
            await session.commit()
        token = issue_access_token(gateway.state.settings, user_id=user.id, role=Role.AGENT, team_id=team.id)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        content = build_csv(ROWS)
        say(f"file: {ROWS} rows, {len(content) / 1024:.0f} KiB")
        params = {"consent_text_version": "bench-2025"}
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.internal", timeout=300
        ) as api:
            started = time.perf_counter()
            dry = await api.post(
                "/api/v1/clients/imports",
                content=content,
                params={**params, "dry_run": "true"},
                headers=headers,
            )
            dry_seconds = time.perf_counter() - started
            report = dry.json()
            say(
                f"dry run: {dry.status_code}, {report['rows_valid']} valid, {report['rows_failed']} failed, "
                f"{dry_seconds:.2f} s ({ROWS / dry_seconds:.0f} rows/s)"
            )
            started = time.perf_counter()
            real = await api.post(
                "/api/v1/clients/imports",
                content=content,
                params={**params, "dry_run": "false"},
                headers=headers,
            )
            job = real.json()
            while job["state"] == "running":
                await asyncio.sleep(0.1)
                job = (await api.get(f"/api/v1/clients/imports/{job['id']}", headers=headers)).json()
            seconds = time.perf_counter() - started
            say(
                f"import job: {job['state']}, {job['rows_created']} created, {job['rows_failed']} failed, "
                f"{seconds:.2f} s ({ROWS / seconds:.0f} rows/s; target: {ROWS} rows < 30 s)"
            )


def main() -> None:
    with database_server("bench-import") as server:
        url = recreate_database(server, DATABASE)
        try:
            for spec in ALL_APPS:
                if spec.name in ("gateway", "clients"):
                    upgrade_to_head(spec.migrations_dir, url)
            asyncio.run(measure(url))
        finally:
            drop_database(server, DATABASE)


if __name__ == "__main__":
    os.environ.setdefault("CRM_LOG_LEVEL", "WARNING")
    main()
