"""The first admin, created from the command line for a fresh installation."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx

from gateway.bootstrap import ensure_admin
from gateway.config import Settings
from launcher.apps import ROOT
from tests.conftest import FAST_ARGON2, Stack

PASSWORD = "bootstrap password 123"


async def run(command: list[str], env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


class TestBootstrapAdmin:
    async def test_creates_the_admin_once(self, api: httpx.AsyncClient, stack: Stack) -> None:
        settings = Settings.model_validate(
            {"database_url": stack.database_url, "environment": "test", **FAST_ARGON2}
        )

        first = await ensure_admin(
            settings=settings, email="Root@Example.com", password=PASSWORD, full_name="Root"
        )
        again = await ensure_admin(
            settings=settings, email="root@example.com", password=PASSWORD, full_name="Root"
        )

        assert (first, again) == (True, False)
        rows = await stack.fetch("SELECT role, team_id FROM identity.users WHERE email = 'root@example.com'")
        assert [(r["role"], r["team_id"]) for r in rows] == [("admin", None)]
        signed_in = await api.post(
            "/api/v1/auth/token", json={"email": "root@example.com", "password": PASSWORD}
        )
        assert signed_in.status_code == 200

    async def test_command_line_is_idempotent(self, api: httpx.AsyncClient, stack: Stack) -> None:
        env = {**os.environ, "GATEWAY_DATABASE_URL": stack.database_url, "GATEWAY_ENVIRONMENT": "test"}
        command = [
            sys.executable,
            "-m",
            "gateway.bootstrap",
            "--email",
            "ops-root@example.com",
            "--password",
            PASSWORD,
        ]

        runs = [await run(command, env) for _ in range(2)]

        assert runs == [0, 0]
        assert (
            len(await stack.fetch("SELECT id FROM identity.users WHERE email = 'ops-root@example.com'")) == 1
        )
