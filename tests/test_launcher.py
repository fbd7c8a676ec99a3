"""The launcher: its settings, its demo data, and (slow) the real thing end to end.

The end-to-end test starts ``python -m launcher run`` exactly as ``make run`` does, in embedded
mode, on its own data folder and its own ports (a developer's stack on 8000 is left alone), uses
the stack through the gateway, stops it with SIGINT and checks nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
import pytest
import uvicorn

from launcher import config as launcher_config
from launcher import demo_data, demo_performance
from launcher.apps import ALL_APPS, GATEWAY, ROOT, SERVICES
from launcher.database import stop_embedded
from launcher.processes import uvicorn_command
from services.clients.identity_documents import IdentityDocumentType, check_document

TEST_DATA_DIR = ROOT / ".data" / "launcher-test"
STARTUP_TIMEOUT = 240.0


# --- settings ----------------------------------------------------------------------------------


def test_default_ports_are_the_registry_ports() -> None:
    config = launcher_config.load({})
    assert config.port(GATEWAY) == 8000
    assert {spec.name: config.port(spec) for spec in ALL_APPS} == {spec.name: spec.port for spec in ALL_APPS}
    assert config.database_url is None
    assert config.pgdata == ROOT / ".data" / "pg"


def test_ports_move_with_an_offset_and_per_app_settings() -> None:
    config = launcher_config.load({"CRM_PORT_OFFSET": "10000", "CLIENTS_PORT": "9101", "CRM_DATA_DIR": "x"})
    assert config.port(GATEWAY) == 18000
    assert config.port(SERVICES[0]) == 9101
    assert config.port(SERVICES[1]) == SERVICES[1].port + 10000
    assert config.data_dir == ROOT / "x"


@pytest.mark.parametrize(
    "env",
    [{"CRM_PORT_OFFSET": "many"}, {"GATEWAY_PORT": "70000"}, {"GATEWAY_PORT": "8101"}],
    ids=["not-a-number", "out-of-range", "clash"],
)
def test_bad_port_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(launcher_config.ConfigError):
        launcher_config.load(env)


def test_apps_start_a_few_at_a_time_one_more_than_the_cores_by_default() -> None:
    assert launcher_config.load({}).apps_at_once == (os.cpu_count() or 2) + 1
    assert launcher_config.load({"CRM_APPS_AT_ONCE": "8"}).apps_at_once == 8
    assert launcher_config.load({"CRM_APPS_AT_ONCE": "0"}).apps_at_once == 1
    with pytest.raises(launcher_config.ConfigError):
        launcher_config.load({"CRM_APPS_AT_ONCE": "all"})


def test_apps_get_the_database_and_the_local_topology() -> None:
    config = launcher_config.load({"CRM_PORT_OFFSET": "100", "CLIENTS_DATABASE_URL": "postgresql://c/db"})
    env = launcher_config.app_environment(config, "postgresql://postgres:@/postgres?host=/x")
    assert env["CRM_DATABASE_URL"] == "postgresql://postgres:@/postgres?host=/x"
    assert env["CRM_ENVIRONMENT"] == "development"
    assert env["CRM_CLIENTS_URL"] == "http://127.0.0.1:8201"
    assert env["CRM_DEVICES_URL"] == "http://127.0.0.1:8204"
    assert env["CRM_IDENTITY_URL"] == "http://127.0.0.1:8100"
    assert config.database_url_for(SERVICES[0], "postgresql://shared/db") == "postgresql://c/db"
    assert config.database_url_for(SERVICES[1], "postgresql://shared/db") == "postgresql://shared/db"


@pytest.mark.parametrize(
    ("setting", "kept_for"),
    [
        (None, None),
        ("CLIENTS_DATABASE_URL", "0"),
        ("CRM_DATABASE_REPLICA_URL", "0"),
        ("POLICIES_DATABASE_REPLICA_URL", "0"),
        ("GATEWAY_DATABASE_URL", "0"),
    ],
)
def test_the_gateway_keeps_no_agenda_when_a_service_is_on_another_database(
    setting: str | None, kept_for: str | None
) -> None:
    """Its change signals would not reach the gateway's database (gateway/views/agenda_cache.py)."""
    config = launcher_config.load({setting: "postgresql://elsewhere/db"} if setting else {})
    env = launcher_config.app_environment(config, "postgresql://shared/db")
    assert env.get("GATEWAY_AGENDA_CACHE_SECONDS") == kept_for


def test_uvicorn_command() -> None:
    command = uvicorn_command(GATEWAY, "127.0.0.1", 8000)
    assert command[1:] == [
        "-m",
        "launcher.serve",
        "gateway.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
    ]


def test_the_collector_is_back_on_once_the_app_has_started() -> None:
    """``serve`` turns the cyclic collector off while the app imports and starts; uvicorn's startup
    (the lifespan, then the listening socket) turns it on again, whatever the app."""
    import asyncio
    import gc

    from launcher.serve import DrainingServer, uvicorn_options

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("never called")

    server = DrainingServer(uvicorn.Config(app, host="127.0.0.1", port=0, **uvicorn_options({})))
    server.config.load()
    server.lifespan = server.config.lifespan_class(server.config)

    async def start_and_stop() -> None:
        await server.startup()
        await server.shutdown()

    gc.disable()
    try:
        asyncio.run(start_and_stop())
        assert gc.isenabled()
    finally:
        gc.enable()


# --- demo data ---------------------------------------------------------------------------------


def test_resident_id_check_digit() -> None:
    # GB 11643's worked example.
    assert demo_data.resident_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"


@pytest.mark.parametrize("client", demo_data.CLIENTS, ids=lambda c: c.name)
def test_demo_clients_are_realistic(client: demo_data.DemoClient) -> None:
    number = client.resident_id
    document = check_document(IdentityDocumentType(client.document_type), number)
    assert document.birth_date == client.birth_date
    assert (int(number[16]) % 2 == 1) == (client.gender == "male")
    phone = phonenumbers.parse(client.phone)
    assert phonenumbers.is_valid_number(phone)
    assert phone.country_code == 86
    assert phonenumbers.number_type(phone) == phonenumbers.PhoneNumberType.MOBILE
    assert client.channel in ("warm_market", "referral", "cold", "online")
    assert 1 <= client.occupation_class <= 6
    assert (client.referred_by is not None) == (client.channel == "referral")


def test_demo_data_covers_the_roles_and_referrers_come_first() -> None:
    roles = sorted(user.role for user in demo_data.ALL_USERS)
    assert roles == ["admin", "agent", "agent", "ops", "team_lead"]
    assert len(demo_data.DEMO_PASSWORD) >= 12  # gateway.bootstrap's minimum
    agents = {user.key for user in demo_data.USERS if user.role == "agent"}
    seen: set[str] = set()
    for client in demo_data.CLIENTS:
        assert client.owner in agents
        if client.referred_by:
            assert client.referred_by in seen
        seen.add(client.name)
    assert all(sum(c.owner == agent for c in demo_data.CLIENTS) >= 2 for agent in agents)


# --- end to end --------------------------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is as good as gone
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _log_tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture
def launcher_env() -> Iterator[dict[str, str]]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "CRM_DATABASE_URL" and not key.endswith("_DATABASE_URL") and not key.endswith("_PORT")
    }
    ports = _free_ports(len(ALL_APPS))
    env.update({f"{spec.env_prefix}PORT": str(port) for spec, port in zip(ALL_APPS, ports, strict=True)})
    env["CRM_DATA_DIR"] = str(TEST_DATA_DIR)
    env["CRM_READY_TIMEOUT"] = "150"
    env.pop("CRM_PORT_OFFSET", None)
    (TEST_DATA_DIR / "launcher.json").unlink(missing_ok=True)
    yield env
    stop_embedded(None, TEST_DATA_DIR / "pg")  # whatever happened, leave no server running


def _wait_for_line(log: Path, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if needle in line:
                return line
        time.sleep(0.2)
    raise AssertionError(f"no {needle!r} in the launcher's output:\n{_log_tail(log)}")


def _wait_until_ready(process: subprocess.Popen[bytes], state_file: Path, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"launcher exited with {process.returncode}:\n{_log_tail(log)}")
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(state_file.read_text(encoding="utf-8"))
            if state.get("status") == "ready" and state.get("launcher_pid") == process.pid:
                assert isinstance(state, dict)
                return state
        time.sleep(0.5)
    pytest.fail(f"launcher not ready after {STARTUP_TIMEOUT:.0f} s:\n{_log_tail(log)}")


@pytest.mark.slow
def test_make_run_starts_the_stack_serves_demo_data_and_stops_clean(
    launcher_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "launcher.log"
    state_file = TEST_DATA_DIR / "launcher.json"
    pgdata = TEST_DATA_DIR / "pg"
    gateway = f"http://127.0.0.1:{launcher_env['GATEWAY_PORT']}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "launcher", "run"],
            cwd=ROOT,
            env=launcher_env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        state = _wait_until_ready(process, state_file, log)
        pids = [state["launcher_pid"], *(app["pid"] for app in state["apps"].values())]
        assert state["launcher_pid"] == process.pid
        assert set(state["apps"]) == {spec.name for spec in ALL_APPS}
        assert state["pgdata"] == str(pgdata)
        assert (pgdata / "postmaster.pid").exists()

        with httpx.Client(base_url=gateway, timeout=30) as http:
            assert http.get("/readyz").status_code == 200, _log_tail(log)
            signed_in = http.post(
                "/api/v1/auth/token",
                json={"email": "wang.fang@demo.crm", "password": demo_data.DEMO_PASSWORD},
            )
            assert signed_in.status_code == 200, signed_in.text
            headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            listed = http.get("/api/v1/clients", headers=headers)
            assert listed.status_code == 200, listed.text
            names = {item["name"] for item in listed.json()["items"]}
            # 王芳's clients, and the one referred to her at the demo's health talk (demo_performance).
            assert names == {c.name for c in demo_data.CLIENTS if c.owner == "wang"} | {
                demo_performance.REFERRED
            }
            first = listed.json()["items"][0]
            read = http.get(f"/api/v1/clients/{first['id']}", headers=headers)
            assert read.status_code == 200, read.text
            assert read.json()["id"] == first["id"]
            assert read.json()["name"] == first["name"]
            # Issue 15: the banner's first URL answers, the docs load offline, a slash never redirects.
            for page in ("/", "/api/v1/", "/docs", "/redoc", "/docs/assets/redoc.standalone.js"):
                assert http.get(page).status_code == 200, page
            slashed = http.get("/api/v1/clients/", headers=headers)
            assert slashed.status_code == 404, slashed.text
            assert "location" not in slashed.headers

        # A crashed service comes back on its own (issue 14, finding 10): kill -9, then ready again.
        clients = state["apps"]["clients"]
        os.kill(clients["pid"], signal.SIGKILL)
        restarted = _wait_for_line(log, "clients restarted (pid ")
        new_pid = int(restarted.split("(pid ")[1].rstrip(")"))
        assert new_pid != clients["pid"]
        pids.append(new_pid)
        assert "clients exited with code -9" in log.read_text(), _log_tail(log)
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=5) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{clients['url']}/readyz").status_code == 200:
                        break
                time.sleep(0.3)
            assert http.get(f"{clients['url']}/readyz").status_code == 200, _log_tail(log)
        assert process.poll() is None  # the launcher kept the rest of the stack up

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, _log_tail(log)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in pids if _alive(pid)] == [], _log_tail(log)
        assert not (pgdata / "postmaster.pid").exists(), "the embedded server is still running"
        assert _processes_mentioning(str(pgdata)) == []
        assert not state_file.exists()
    finally:
        if process.poll() is None:  # the test failed half-way: stop it the polite way first
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()  # its apps die with it (PR_SET_PDEATHSIG); the fixture stops postgres
                process.wait()
