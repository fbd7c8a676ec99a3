"""The apps' common imports paid once: a process that imports the shared libraries, then forks one
child per app, which imports its own app module and serves it exactly as ``launcher.serve`` does.

Importing FastAPI, SQLAlchemy, SQLModel, pydantic, httpx, uvicorn and crmkit is about half of an
app's start; eight apps importing them side by side on two cores took ~15 s to be ready. The
launcher starts this process first (``Zygote.start``, while the database starts), asks it for
each app (``Zygote.spawn``) with a pipe for the app's output, and learns each app's exit code from
it. The zygote runs no thread and no event loop, so forking it is safe; it dies with the launcher
(PR_SET_PDEATHSIG) and its apps die with it. Docker and compose still run ``launcher.serve``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from typing import IO, Any

from launcher.apps import ROOT
from launcher.dev_tools import keep_out_of_apps
from launcher.state import pid_alive

PRELOAD = (
    "fastapi",
    "fastapi.routing",
    "fastapi.security",
    "fastapi.responses",
    "starlette.middleware.base",
    "anyio._backends._asyncio",  # else imported by the first request of a yield dependency (~10 ms)
    "pydantic",
    "pydantic.v1",  # FastAPI imports it at an app's first route with a response model (~40 ms each)
    "pydantic_settings",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "sqlmodel",
    "asyncpg",
    "httpx",
    "structlog",
    "prometheus_client",
    "uvloop",
    "httptools",
    "uvicorn",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "crmkit.app",
    "crmkit.audit",
    "crmkit.auth",
    "crmkit.changes",
    "crmkit.clock",
    "crmkit.concurrency",
    "crmkit.csv",
    "crmkit.events",
    "crmkit.money",
    "crmkit.pagination",
    "crmkit.peers",
    "crmkit.periods",
    "crmkit.references",
    "crmkit.scope",
    "crmkit.workflow",
    "launcher.serve",
)
"""What every app imports and nothing here runs: libraries and crmkit (no settings are read at
import). A module missing from the environment is skipped: the apps then import what they need."""

_MESSAGE_BYTES = 1 << 20


def _preload() -> None:
    keep_out_of_apps()
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(ImportError):
        from crmkit.http import shared_tls_context

        shared_tls_context()  # the certificate bundle, parsed once for every app (~30 ms each)


def _send(channel: socket.socket, message: Mapping[str, Any]) -> None:
    channel.send(json.dumps(message).encode())


def _child(request: Mapping[str, Any], output: int, zygote_pid: int) -> int:
    """In the forked process: its own session, output and environment; then the app, served."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(null)
    os.close(output)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["launcher.serve", request["app"], "--host", request["host"], "--port", str(request["port"])]
    from launcher import serve

    serve.die_with(zygote_pid)
    return serve.serve(request["app"], request["host"], int(request["port"]), os.environ)


def _fork(channel: socket.socket, request: Mapping[str, Any], output: int) -> int:
    zygote_pid = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(output)
        return pid
    code = 1
    try:
        channel.close()
        code = _child(request, output, zygote_pid)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reap(channel: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(channel, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def main(argv: list[str]) -> None:
    """``python -m launcher.zygote <fd>``: serve fork requests on the socket ``fd`` until it closes."""
    from launcher import serve

    serve.die_with_launcher(os.environ)
    channel = socket.socket(fileno=int(argv[0]))
    # What is imported here stays for good: no collection while importing (a tenth of the preload's
    # CPU), then the apps' collections never walk it, nor write to its pages. The few cycles the
    # imports left behind are frozen with the rest rather than paying a full collection for them.
    gc.disable()
    _preload()
    assert threading.active_count() == 1, "no thread may run where we fork"
    gc.freeze()
    gc.enable()
    channel.settimeout(0.2)  # exits are reported within this
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(channel, _MESSAGE_BYTES, 1)
        except TimeoutError:
            data, fds = None, []
        if data == b"":
            return  # the launcher is gone; our apps die with us
        if data is not None:
            channel.settimeout(None)
            pid = _fork(channel, json.loads(data), fds[0])
            _send(channel, {"started": pid})
            channel.settimeout(0.2)
        _reap(channel)


class ZygoteGone(RuntimeError):
    """The zygote ended: the launcher starts its apps as processes of their own instead."""


class ForkedProcess:
    """An app forked by the zygote, seen as much like a ``subprocess.Popen`` as the launcher needs."""

    def __init__(self, zygote: Zygote, pid: int, stdout: IO[bytes]) -> None:
        self._zygote = zygote
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            code = self._zygote.wait_exit(self.pid, timeout)
            if code is None:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            self.returncode = code
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The launcher's end: start the zygote, ask it for apps, hear how they end."""

    def __init__(self, env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._channel = ours
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "launcher.zygote", str(theirs.fileno())],
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
        )
        theirs.close()
        self._lock = threading.Lock()  # one spawn at a time
        self._changed = threading.Condition()
        self._exits: dict[int, int] = {}
        self._started: list[int] = []
        self._alive = True
        self._reader = threading.Thread(target=self._read, name="zygote", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._alive

    def _read(self) -> None:
        while True:
            try:
                data = self._channel.recv(_MESSAGE_BYTES)
            except OSError:
                data = b""
            with self._changed:
                if not data:
                    self._alive = False
                    self._changed.notify_all()
                    return
                message = json.loads(data)
                if "exited" in message:
                    self._exits[int(message["exited"])] = int(message["code"])
                elif "started" in message:
                    pid = int(message["started"])
                    self._exits.pop(pid, None)  # an earlier app's pid, now reused
                    self._started.append(pid)
                self._changed.notify_all()

    def spawn(self, app: str, host: str, port: int, env: Mapping[str, str]) -> ForkedProcess:
        """The app forked from the zygote, its output (stdout and stderr) on a pipe of ours."""
        request = json.dumps({"app": app, "host": host, "port": port, "env": dict(env)}).encode()
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                try:
                    socket.send_fds(self._channel, [request], [write_end])
                except OSError as exc:
                    raise ZygoteGone(f"the zygote ended: {exc}") from exc
                os.close(write_end)
                write_end = -1
                with self._changed:
                    self._changed.wait_for(lambda: self._started or not self._alive)
                    if not self._started:
                        raise ZygoteGone("the zygote ended")
                    pid = self._started.pop(0)
        except BaseException:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
            raise
        return ForkedProcess(self, pid, os.fdopen(read_end, "rb"))

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            return self._exit_or_orphaned(pid)

    def wait_exit(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: self._exit_or_orphaned(pid) is not None, timeout)
            return self._exit_or_orphaned(pid)

    def _exit_or_orphaned(self, pid: int) -> int | None:
        if pid in self._exits:
            return self._exits[pid]
        if not self._alive and not pid_alive(pid):
            return -signal.SIGTERM  # the zygote ended, and its apps with it (PR_SET_PDEATHSIG)
        return None

    def stop(self, timeout: float = 5.0) -> None:
        """Close our end: the zygote exits (its apps are already stopped, or die with it)."""
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_RDWR)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._channel.close()


@contextlib.contextmanager
def running(env: Mapping[str, str]) -> Iterator[Zygote]:
    """A zygote for the time of the ``with``; it imports while the launcher goes on."""
    zygote = Zygote({**env, "PYTHONUNBUFFERED": "1", "CRM_LAUNCHER_PID": str(os.getpid())})
    try:
        yield zygote
    finally:
        zygote.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
