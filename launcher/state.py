"""``<data dir>/launcher.json``: who is running (launcher and app PIDs, URLs), while it runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_launcher(path: Path) -> int | None:
    """The PID of another live launcher on this data folder, if there is one."""
    state = read(path)
    if not state:
        return None
    pid = state.get("launcher_pid")
    if not isinstance(pid, int) or pid == os.getpid() or not pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc (macOS): trust the PID
    return pid if b"launcher" in cmdline else None
