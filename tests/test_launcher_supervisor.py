"""A crashed app is restarted with backoff and given up on only when it keeps crashing (issue 14,
finding 10). Real processes, a clock the test moves."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from launcher.apps import SERVICES
from launcher.processes import Child, restart, stop_all
from launcher.supervisor import MAX_CRASHES, GaveUp, Supervisor

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
STAY_UP = [sys.executable, "-c", "import time; time.sleep(60)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def child(command: list[str]) -> Child:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return Child(SERVICES[0], 0, "http://127.0.0.1:0", process, command, {}, "test ")


def wait_exit(c: Child) -> None:
    c.process.wait(timeout=10)


@pytest.fixture
def said() -> list[str]:
    return []


class TestRestart:
    def test_a_crashed_app_is_restarted_after_a_second(self, said: list[str]) -> None:
        clock = Clock()
        app = child(CRASH)
        wait_exit(app)
        supervisor = Supervisor(say=said.append, clock=clock)

        supervisor.tick([app])
        first_pid = app.pid
        clock.now += 0.5
        supervisor.tick([app])
        assert app.pid == first_pid  # not yet: the backoff is a second
        app.command = STAY_UP
        clock.now += 0.6
        supervisor.tick([app])

        try:
            assert app.pid != first_pid
            assert app.process.poll() is None  # running again
            assert said[0].startswith("clients exited with code 3 (crash 1 within 60 s); restarting in 1 s")
            assert said[1] == f"clients restarted (pid {app.pid})"
        finally:
            stop_all([app])

    def test_the_backoff_doubles_with_each_recent_crash(self, said: list[str]) -> None:
        clock = Clock()
        app = child(CRASH)
        supervisor = Supervisor(say=said.append, clock=clock)
        delays = []
        for _ in range(MAX_CRASHES - 1):
            wait_exit(app)
            supervisor.tick([app])
            delays.append(supervisor.due[app.name] - clock.now)
            clock.now = supervisor.due[app.name]
            supervisor.tick([app])
        stop_all([app])

        assert delays == [1.0, 2.0, 4.0, 8.0]

    def test_the_fifth_crash_within_a_minute_gives_up(self, said: list[str]) -> None:
        clock = Clock()
        app = child(CRASH)
        supervisor = Supervisor(say=said.append, clock=clock)
        for _ in range(MAX_CRASHES - 1):
            wait_exit(app)
            supervisor.tick([app])
            clock.now = supervisor.due[app.name]
            supervisor.tick([app])
        wait_exit(app)

        try:
            with pytest.raises(GaveUp, match="5th crash within 60 s"):
                supervisor.tick([app])
        finally:
            stop_all([app])

    def test_crashes_spread_over_time_never_give_up(self, said: list[str]) -> None:
        clock = Clock()
        app = child(CRASH)
        supervisor = Supervisor(say=said.append, clock=clock)
        for _ in range(MAX_CRASHES * 2):
            wait_exit(app)
            supervisor.tick([app])
            clock.now += 61  # each crash a minute after the last
            supervisor.tick([app])
        stop_all([app])

        assert supervisor.crashes[app.name] == [clock.now - 61]


def test_restart_keeps_the_command_and_the_output_relay() -> None:
    app = child([sys.executable, "-c", "print('hello')"])
    wait_exit(app)
    restart(app)
    try:
        assert app.pump is not None
        assert app.process.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while app.pump.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_all([app])
