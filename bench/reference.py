"""Start the reference app (``bench/reference_app.py``) as its own process, served like every app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from launcher.apps import ROOT

PORT = 8190  # plus the bench's port offset
READY_TIMEOUT_SECONDS = 60


@contextmanager
def running(url: str, *, port: int, env: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """``python -m launcher.serve bench.reference_app:app`` on ``url``; yields its pid and URL once ready."""
    log_path = ROOT / ".data" / "bench" / "reference.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, module and port
            [sys.executable, "-m", "launcher.serve", "bench.reference_app:app", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **env, "CRM_DATABASE_URL": url, "CRM_LAUNCHER_PID": str(os.getpid())},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"bench: the reference app exited; see {log_path}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"bench: the reference app was not ready in {READY_TIMEOUT_SECONDS} s")
                time.sleep(0.2)
            yield {"pid": process.pid, "url": base}
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
