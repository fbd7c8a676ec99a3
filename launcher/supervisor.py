"""Keeping the apps up: a crashed app is restarted with backoff, and given up on only when it keeps
crashing.

After the stack is ready, the launcher calls :meth:`Supervisor.tick` twice a second. An app that
ended is restarted after 1, 2, 4, 8… seconds (at most 30) by how often it crashed in the last
minute; the fifth crash within a minute stops everything, since an app that cannot stay up needs a
person. Each crash and restart is written to the launcher's output. Ctrl-C still stops everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from launcher.processes import Child, ChildExited, restart

CRASH_WINDOW_SECONDS = 60.0
MAX_CRASHES = 5
MAX_BACKOFF_SECONDS = 30.0


class GaveUp(ChildExited):
    """An app crashed too often in too short a time."""

    def __init__(self, name: str, returncode: int | None, crashes: int) -> None:
        super().__init__(name, returncode)
        self.args = (
            f"{name} exited with code {returncode}, its {crashes}th crash within"
            f" {CRASH_WINDOW_SECONDS:.0f} s: not restarted again",
        )


@dataclass
class Supervisor:
    say: Callable[[str], None]
    clock: Callable[[], float]
    restart: Callable[[Child], None] = restart
    crashes: dict[str, list[float]] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)

    def tick(self, children: Sequence[Child]) -> None:
        """Restart what is due; schedule what has just ended; raise :class:`GaveUp` past the limit."""
        now = self.clock()
        for child in children:
            if child.name in self.due:
                if now >= self.due[child.name]:
                    del self.due[child.name]
                    self.restart(child)
                    self.say(f"{child.name} restarted (pid {child.pid})")
                continue
            code = child.process.poll()
            if code is None:
                continue
            recent = [t for t in self.crashes.get(child.name, []) if now - t < CRASH_WINDOW_SECONDS]
            recent.append(now)
            self.crashes[child.name] = recent
            if len(recent) >= MAX_CRASHES:
                raise GaveUp(child.name, code, len(recent))
            delay = min(2.0 ** (len(recent) - 1), MAX_BACKOFF_SECONDS)
            self.due[child.name] = now + delay
            self.say(
                f"{child.name} exited with code {code} (crash {len(recent)} within"
                f" {CRASH_WINDOW_SECONDS:.0f} s); restarting in {delay:.0f} s"
            )
