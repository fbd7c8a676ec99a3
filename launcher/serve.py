"""``python -m launcher.serve <module:app> --port N``: one app under uvicorn, the same way everywhere.

The launcher, the Dockerfile and the compose file all start the apps through this module, so what
an app trusts does not depend on how it was started.

Forwarded headers (``X-Forwarded-For``, ``X-Forwarded-Proto``) are honoured only when the
connection comes from a proxy named in ``CRM_TRUSTED_PROXIES``: a comma-separated list of
addresses or networks (``10.0.0.0/8``), empty by default. uvicorn's own default trusts
127.0.0.1, so on a machine where the gateway listens on loopback anyone could name any client
address: rotate it for unlimited password guesses, or set it to a victim's address to have the
victim throttled. With no trusted proxy, the client address is the TCP peer's, always.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from crmkit import draining
from launcher.dev_tools import keep_out_of_apps

TRUSTED_PROXIES_ENV = "CRM_TRUSTED_PROXIES"


def trusted_proxies(environ: Mapping[str, str]) -> list[str]:
    """The configured proxies; a value that is neither an address nor a network is refused."""
    entries = [e.strip() for e in environ.get(TRUSTED_PROXIES_ENV, "").split(",") if e.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SystemExit(f"{TRUSTED_PROXIES_ENV}: {entry!r} is not an IP address or network") from None
    return entries


def uvicorn_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """uvicorn's settings for every app: quiet access log, uvloop, httptools, forwarded headers only
    from the trusted proxies."""
    proxies = trusted_proxies(environ)
    return {
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 5,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
    }


class DrainingServer(uvicorn.Server):
    """uvicorn, with the app's ``/readyz`` answering 503 from the first stop signal
    (crmkit/draining.py); uvicorn itself then finishes the requests in flight.

    The cyclic garbage collector is off from ``serve`` until the app has started: importing the app
    and running its lifespan build hundreds of thousands of objects that live as long as the process,
    which the collector walked again and again (~20-30 ms of CPU for the largest apps); the apps'
    lifespan ends with one full collection and ``gc.freeze`` (crmkit/app.py)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            gc.enable()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        draining.begin()
        super().handle_exit(sig, frame)


PR_SET_PDEATHSIG = 1


def die_with_launcher(environ: Mapping[str, str]) -> None:
    """Under the launcher (``CRM_LAUNCHER_PID``): SIGTERM this app when the launcher dies, even by
    SIGKILL (Linux), so no app outlives it. Set here, in the app itself, rather than in a
    ``preexec_fn``, which is unsafe once the launcher runs threads (it restarts crashed apps)."""
    parent = environ.get("CRM_LAUNCHER_PID")
    if parent:
        die_with(int(parent))


def die_with(parent: int) -> None:
    """SIGTERM this process when ``parent`` (its parent) dies; at once if it already has."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def serve(app: str, host: str, port: int, environ: Mapping[str, str]) -> int:
    """Serve ``app`` until a stop signal; the exit code (uvicorn's when it could not start)."""
    config = uvicorn.Config(app, host=host, port=port, **uvicorn_options(environ))
    server = DrainingServer(config)
    gc.disable()  # until the app has started (DrainingServer.startup)
    server.run()
    return 0 if server.started else STARTUP_FAILURE


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m launcher.serve", description=__doc__.split("\n")[0])
    parser.add_argument("app", help="the ASGI app, e.g. gateway.main:app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    keep_out_of_apps()
    die_with_launcher(os.environ)
    sys.exit(serve(args.app, args.host, args.port, os.environ))


if __name__ == "__main__":
    main()
