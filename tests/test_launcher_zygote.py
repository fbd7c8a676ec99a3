"""The zygote forks the apps (launcher/zygote.py): each serves under ``launcher.serve``'s settings, its
output reaches the launcher, its exit code too, and it dies with the zygote. Real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from launcher import processes
from launcher import zygote as zygote_module
from launcher.apps import SERVICES, AppSpec
from launcher.zygote import Zygote, ZygoteGone


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest ASGI app: answers its pid (lifespan events are not supported: uvicorn's "auto")."""
    if scope["type"] != "http":
        raise RuntimeError("http only")
    body = str(os.getpid()).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answer(url: str, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2.0)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    with zygote_module.running(dict(os.environ)) as started:
        yield started


def test_an_app_forked_from_the_zygote_serves_and_reports_its_exit(zygote: Zygote) -> None:
    port = _free_port()
    process = zygote.spawn("tests.test_launcher_zygote:app", "127.0.0.1", port, dict(os.environ))
    try:
        assert _answer(f"http://127.0.0.1:{port}/").text == str(process.pid)
        assert process.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stdout is not None
    with process.stdout:
        output = process.stdout.read().decode()
    assert "Uvicorn running on" in output or "Application startup complete" in output, output


def test_an_app_that_cannot_start_ends_with_its_error_on_the_pipe(zygote: Zygote) -> None:
    process = zygote.spawn("tests.no_such_module:app", "127.0.0.1", _free_port(), dict(os.environ))
    assert process.wait(timeout=30) != 0
    assert process.stdout is not None
    with process.stdout:
        assert "no_such_module" in process.stdout.read().decode()


def test_the_apps_die_with_the_zygote() -> None:
    port = _free_port()
    with zygote_module.running(dict(os.environ)) as zygote:
        process = zygote.spawn("tests.test_launcher_zygote:app", "127.0.0.1", port, dict(os.environ))
        _answer(f"http://127.0.0.1:{port}/")
        zygote.process.kill()  # as if the launcher were killed: PR_SET_PDEATHSIG reaches the app
        assert process.wait(timeout=20) is not None
        assert process.stdout is not None
        process.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"app {process.pid} outlived its zygote")


def test_without_its_zygote_an_app_starts_as_a_process_of_its_own() -> None:
    with zygote_module.running(dict(os.environ)) as zygote:
        zygote.process.kill()
        zygote.process.wait()
        deadline = time.monotonic() + 10
        while zygote.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(ZygoteGone):
            zygote.spawn("tests.test_launcher_zygote:app", "127.0.0.1", _free_port(), dict(os.environ))
        command = [sys.executable, "-c", "print('on its own')"]
        process = processes._start(zygote, SERVICES[0], "127.0.0.1", _free_port(), command, dict(os.environ))
        assert isinstance(process, subprocess.Popen)
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None
        with process.stdout:
            assert process.stdout.read().strip() == b"on its own"


def test_the_preload_names_only_modules_that_exist() -> None:
    """A misspelt name would be skipped silently (a missing optional library is), and its cost paid by
    every app again."""
    import importlib.util

    missing = [name for name in zygote_module.PRELOAD if importlib.util.find_spec(name) is None]
    assert missing == []


def test_every_outbound_transport_shares_one_certificate_check() -> None:
    """Built once per process (in the zygote, before the apps are forked), and still a full check."""
    import ssl

    from crmkit.http import pooled_transport, shared_tls_context

    context = shared_tls_context()
    assert context is shared_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
    first, second = pooled_transport(), pooled_transport(max_connections=5)
    assert first.ssl_context is context  # type: ignore[attr-defined]
    assert second.ssl_context is context  # type: ignore[attr-defined]


def test_apps_start_in_turn_no_more_at_once_than_allowed(zygote: Zygote) -> None:
    """``start_in_turn``: the next app is started only once one of those starting is ready; every
    app's time is counted from its own start."""
    specs = [
        AppSpec(f"app{i}", "tests.test_launcher_zygote:app", "tests", f"s{i}", _free_port(), f"APP{i}_")
        for i in range(3)
    ]
    ports = {spec.name: spec.port for spec in specs}
    children: list[processes.Child] = []
    starting_when_started: list[int] = []
    ready_names: set[str] = set()

    def start(spec: AppSpec, index: int) -> processes.Child:
        for child in children:  # an app still starting answers no /readyz yet
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{child.url}/readyz", timeout=2.0).status_code == 200:
                    ready_names.add(child.name)
        starting_when_started.append(len(children) - len(ready_names))
        return processes.spawn(spec, index, ports, "127.0.0.1", dict(os.environ), zygote)

    try:
        ready = processes.start_in_turn(specs, start, children, at_once=1, timeout=60)
    finally:
        processes.stop_all(children)
    assert [child.name for child in children] == ["app0", "app1", "app2"]
    assert starting_when_started == [0, 0, 0]
    assert sorted(ready) == ["app0", "app1", "app2"]
    assert all(seconds >= 0 for seconds in ready.values())
