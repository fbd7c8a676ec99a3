"""The app processes: spawn (dying with the launcher), relay their output, wait for ready, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

import httpx

from launcher.apps import ROOT, AppSpec
from launcher.zygote import ForkedProcess, Zygote, ZygoteGone

STOP_GRACE_SECONDS = 10.0
READY_POLL_SECONDS = 0.05
"""Between two rounds of ``/readyz`` polls: an app is seen ready at most this late (a refused
connection costs the launcher ~0.2 ms of CPU, so a round of eight is ~1 ms)."""
LAUNCHER_PID_ENV = "CRM_LAUNCHER_PID"
"""Set for every app: ``launcher.serve`` makes the app die with the launcher, even on SIGKILL."""
_COLOURS = ("36", "32", "33", "35", "34", "31")

_output_lock = threading.Lock()


class ChildExited(RuntimeError):
    """An app process ended while the stack was meant to be up."""

    def __init__(self, name: str, returncode: int | None) -> None:
        super().__init__(f"{name} exited with code {returncode}")
        self.name = name
        self.returncode = returncode


def uvicorn_command(spec: AppSpec, host: str, port: int) -> list[str]:
    """The app under uvicorn, through ``launcher.serve`` (the same settings as in the containers)."""
    return [sys.executable, "-m", "launcher.serve", spec.module, "--host", host, "--port", str(port)]


def emit(prefix: str, line: str, stream: IO[str] | None = None) -> None:
    target = stream or sys.stdout
    with _output_lock:
        target.write(f"{prefix}{line}\n")
        target.flush()


def _prefix(name: str, index: int, width: int = 9) -> str:
    label = f"{name:<{width}}|"
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        return f"\033[{_COLOURS[index % len(_COLOURS)]}m{label}\033[0m "
    return f"{label} "


@dataclass
class Child:
    spec: AppSpec
    port: int
    url: str
    process: subprocess.Popen[bytes] | ForkedProcess
    command: list[str]
    env: dict[str, str] = field(repr=False)
    prefix: str = ""
    pump: threading.Thread | None = field(default=None, repr=False)
    zygote: Zygote | None = field(default=None, repr=False)
    host: str = "127.0.0.1"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def name(self) -> str:
        return self.spec.name


def _relay(process: subprocess.Popen[bytes] | ForkedProcess, prefix: str) -> None:
    assert process.stdout is not None
    with contextlib.suppress(ValueError, OSError):  # the pipe closes under us at shutdown
        for raw in iter(process.stdout.readline, b""):
            emit(prefix, raw.decode("utf-8", "replace").rstrip("\r\n"))


def _popen(command: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        cwd=ROOT,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a terminal's Ctrl-C reaches the launcher only; it stops them
    )


def _start(
    zygote: Zygote | None, spec: AppSpec, host: str, port: int, command: list[str], env: Mapping[str, str]
) -> subprocess.Popen[bytes] | ForkedProcess:
    """Forked from the zygote while it runs (the shared imports already paid), else a new process."""
    if zygote is not None and zygote.alive:
        with contextlib.suppress(ZygoteGone):
            return zygote.spawn(spec.module, host, port, env)
    return _popen(command, env)


def _relay_output(child: Child) -> None:
    child.pump = threading.Thread(target=_relay, args=(child.process, child.prefix), daemon=True)
    child.pump.start()


def spawn(
    spec: AppSpec,
    index: int,
    ports: Mapping[str, int],
    host: str,
    env: Mapping[str, str],
    zygote: Zygote | None = None,
) -> Child:
    """Start one app, dying with the launcher (``launcher.serve`` reads its pid), forked from
    ``zygote`` when given; ``index`` picks the colour of its output's prefix."""
    app_env = {**env, LAUNCHER_PID_ENV: str(os.getpid())}
    port = ports[spec.name]
    command = uvicorn_command(spec, host, port)
    process = _start(zygote, spec, host, port, command, app_env)
    child = Child(spec, port, f"http://{host}:{port}", process, command, app_env)
    child.prefix, child.zygote, child.host = _prefix(spec.name, index), zygote, host
    _relay_output(child)
    return child


def restart(child: Child) -> None:
    """The same app again, with the same command and environment, in place of its ended process."""
    if child.pump is not None:
        child.pump.join(timeout=2.0)
    if child.process.stdout is not None:
        child.process.stdout.close()
    child.process = _start(child.zygote, child.spec, child.host, child.port, child.command, child.env)
    _relay_output(child)


def check_alive(children: Sequence[Child]) -> None:
    for child in children:
        code = child.process.poll()
        if code is not None:
            raise ChildExited(child.name, code)


def start_in_turn(
    specs: Sequence[AppSpec],
    start: Callable[[AppSpec, int], Child],
    children: list[Child],
    *,
    at_once: int,
    timeout: float,
    on_tick: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """Start the apps in ``specs`` order, at most ``at_once`` of them starting at a time: the next one
    as soon as one answers ``/readyz`` with 200. Returns each app's seconds from its own start until
    ready. ``start(spec, index)`` starts one; each goes into ``children`` as it starts, so the caller
    can stop them all whatever happens. ``on_tick`` may raise.

    An app's start is CPU: importing its modules and building its routes. Eight of them side by side
    on two cores each took as long as all of them together; a few at a time, each takes about its own
    CPU time and the last is ready no later (the cores are kept busy either way).
    """
    started = time.monotonic()
    deadline = started + timeout
    pending = list(specs)
    started_at: dict[str, float] = {}
    ready: dict[str, float] = {}
    last: dict[str, str] = {}
    with httpx.Client(timeout=2.0) as http:
        while pending or len(ready) < len(children):
            on_tick()
            while pending and len(children) - len(ready) < at_once:
                child = start(pending.pop(0), len(children))
                children.append(child)
                started_at[child.name] = time.monotonic()
            check_alive(children)
            newly_ready = False
            for child in children:
                if child.name in ready:
                    continue
                try:
                    response = http.get(f"{child.url}/readyz")
                except httpx.HTTPError as exc:
                    last[child.name] = type(exc).__name__
                    continue
                if response.status_code == 200:
                    ready[child.name] = time.monotonic() - started_at[child.name]
                    newly_ready = True
                else:
                    last[child.name] = f"HTTP {response.status_code}: {response.text[:300]}"
            if not pending and len(ready) == len(children):
                break
            if time.monotonic() > deadline:
                waiting = {c.name: last.get(c.name, "no answer") for c in children if c.name not in ready}
                not_started = [spec.name for spec in pending]
                raise TimeoutError(f"not ready after {timeout:.0f} s: {waiting}; not started: {not_started}")
            if not newly_ready:  # a freed slot is filled at once
                time.sleep(READY_POLL_SECONDS)
    return ready


def stop_all(children: Sequence[Child], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every child (uvicorn shuts down gracefully), SIGKILL whoever outlives ``grace``."""
    for child in children:
        if child.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            child.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            child.process.wait()
    for child in children:
        if child.pump is not None:
            child.pump.join(timeout=2.0)
        if child.process.stdout is not None:
            child.process.stdout.close()
