"""``python -m launcher [run|migrate|clean-data]``: the whole stack on one machine, or parts of it.

``run`` (the default, what ``make run`` calls): database (embedded unless ``CRM_DATABASE_URL`` is
set) → every app's migrations → the services and the gateway as uvicorn processes, forked from a
zygote that imported their libraries once (launcher/zygote.py) → wait for each ``/readyz`` → demo
data through the gateway → print URLs and demo accounts → wait. Ctrl-C or
SIGTERM stops the apps, then the embedded server; the apps also die if the launcher is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from types import FrameType

from launcher import config as launcher_config
from launcher import demo_data, demo_marker, state
from launcher.apps import GATEWAY, ROOT, SERVICES, AppSpec
from launcher.config import LauncherConfig, app_environment
from launcher.database import database, migrate, stop_embedded
from launcher.processes import Child, ChildExited, emit, spawn, start_in_turn, stop_all
from launcher.supervisor import Supervisor
from launcher.zygote import running as zygote_running

PREFIX = "launcher |"
START_ORDER = (SERVICES[0], SERVICES[1], GATEWAY, *SERVICES[2:])
"""Clients and policies, the longest to start, first; the gateway next: the services pull the
revoked tokens from it."""


class Shutdown(BaseException):  # like KeyboardInterrupt: not an error, so not an Exception
    """SIGINT or SIGTERM arrived: stop everything."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(message: str) -> None:
    emit(f"{PREFIX} ", message)


class _Stop:
    """What the signal handler knows: a stop was asked for, and whether we are already stopping."""

    requested: int | None = None
    cleaning = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _Stop.requested = signum
    if _Stop.cleaning:
        say(f"{signal.Signals(signum).name}: already stopping, please wait")
        return
    # Raised wherever the main thread is. Python drops exceptions raised inside finalizers and
    # callbacks, so the flag stays set and ``checkpoint`` raises again at the next step.
    raise Shutdown(signum)


def checkpoint() -> None:
    if _Stop.requested is not None and not _Stop.cleaning:
        raise Shutdown(_Stop.requested)


def cleaning_up() -> None:
    """From here on, signals only say "please wait": the cleanup runs to its end."""
    _Stop.cleaning = True


@contextlib.contextmanager
def signals_stop_us() -> Iterator[None]:
    """SIGINT/SIGTERM raise ``Shutdown`` until ``cleaning_up()``; later ones wait for the cleanup."""
    _Stop.requested, _Stop.cleaning = None, False
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    try:
        yield
    finally:
        cleaning_up()


def _shown(path: os.PathLike[str] | str) -> str:
    text = str(path)
    root = str(ROOT)
    return "." + text[len(root) :] if text.startswith(root + os.sep) else text


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def ports_free(config: LauncherConfig) -> None:
    busy = []
    for spec in (GATEWAY, *SERVICES):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((config.host, config.port(spec)))
            except OSError:
                busy.append(f"{spec.name}:{config.port(spec)}")
    if busy:
        raise SystemExit(
            f"{PREFIX} ports in use: {', '.join(busy)}. Is another stack running? "
            "Stop it, or move ours with CRM_PORT_OFFSET=10000 (or GATEWAY_PORT, CLIENTS_PORT...)."
        )


def banner(config: LauncherConfig, children: Sequence[Child], db_line: str, timing: str, demo: str) -> str:
    gateway = config.gateway_url
    lines = [
        "",
        "=" * 78,
        f"Insurance agent CRM is up. {timing}",
        "",
        f"  Gateway (public API)  {gateway}/api/v1/",
        f"  API docs              {gateway}/docs   {gateway}/redoc   (OpenAPI: {gateway}/openapi.json)",
        f"  Gateway readiness     {gateway}/readyz (upstreams and latency)   metrics: {gateway}/metrics",
    ]
    for child in children:
        if child.spec is not GATEWAY:
            lines.append(f"  {child.name:<21} {child.url}/healthz   {child.url}/docs   (pid {child.pid})")
    gateway_child = next((c for c in children if c.spec is GATEWAY), None)
    if gateway_child is not None:
        lines.append(f"  {'gateway process':<21} pid {gateway_child.pid}")
    lines += ["", f"  Database  {db_line}", ""]
    lines.append(f"Demo accounts ({demo}), password for all: {demo_data.DEMO_PASSWORD}")
    for user in demo_data.ALL_USERS:
        team = f"  team {demo_data.TEAM_NAME}" if user.in_team else ""
        lines.append(f"  {user.role:<10} {user.email:<22} {user.full_name}{team}")
    lines += [
        "",
        f"Try: curl -s {gateway}/api/v1/auth/token -H 'content-type: application/json' \\",
        f'       -d \'{{"email":"wang.fang@demo.crm","password":"{demo_data.DEMO_PASSWORD}"}}\'',
        "Ctrl-C stops every process (and the embedded database).",
        "=" * 78,
    ]
    return "\n".join(lines)


def run(config: LauncherConfig) -> int:
    started = time.monotonic()
    other = state.running_launcher(config.state_file)
    if other is not None:
        raise SystemExit(f"{PREFIX} a launcher (pid {other}) already runs on {_shown(config.data_dir)}")
    state.remove(config.state_file)  # left by a launcher that was killed
    ports_free(config)
    children: list[Child] = []
    base: dict[str, object] = {"launcher_pid": os.getpid(), "data_dir": str(config.data_dir)}
    try:
        # The zygote imports the apps' libraries while the database starts and migrations are checked.
        with signals_stop_us(), zygote_running(config.env) as zygote, database(config) as url:
            try:
                if config.database_url:
                    db_line = f"configured: {_redacted(url)}"
                    base["pgdata"] = None
                else:
                    db_line = f"embedded PostgreSQL, data in {_shown(config.pgdata)} (kept between runs)"
                    base["pgdata"] = str(config.pgdata)
                say(f"database ready ({time.monotonic() - started:.1f} s): {db_line}")
                checkpoint()
                migrated = migrate(config, url)
                checkpoint()
                say(f"migrations at head ({time.monotonic() - started:.1f} s): {', '.join(migrated)}")
                env = app_environment(config, url)

                def start(spec: AppSpec, index: int) -> Child:
                    child = spawn(spec, index, config.ports, config.host, env, zygote)
                    pids = {c.name: {"pid": c.pid, "url": c.url} for c in [*children, child]}
                    state.write(config.state_file, {**base, "status": "starting", "apps": pids})
                    if len(pids) == len(START_ORDER):
                        each = ", ".join(f"{name} (pid {a['pid']}, {a['url']})" for name, a in pids.items())
                        say(f"started ({time.monotonic() - started:.1f} s): {each}")
                    return child

                apps_started = time.monotonic()
                ready = start_in_turn(
                    START_ORDER,
                    start,
                    children,
                    at_once=config.apps_at_once,
                    timeout=config.ready_timeout,
                    on_tick=checkpoint,
                )
                pids = {c.name: {"pid": c.pid, "url": c.url} for c in children}
                each = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in ready.items())
                now = time.monotonic()
                say(
                    f"all apps ready ({now - started:.1f} s; {now - apps_started:.1f} s for all, "
                    f"{config.apps_at_once} starting at a time; each after its own start: {each})"
                )
                demo = load_demo(config, env, url)
                checkpoint()
                took = time.monotonic() - started
                timing = f"Startup took {took:.1f} s."
                since_make = os.environ.get("CRM_STARTED_AT")
                if since_make:
                    with contextlib.suppress(ValueError):
                        total = time.time() - float(since_make)
                        timing += f" {total:.1f} s since `make run` started (virtualenv check included)."
                state.write(
                    config.state_file,
                    {**base, "status": "ready", "startup_seconds": round(took, 2), "apps": pids},
                )
                emit("", banner(config, children, db_line, timing, demo))
                supervisor = Supervisor(say=say, clock=time.monotonic)
                while True:
                    supervisor.tick(children)
                    checkpoint()
                    time.sleep(0.5)
            finally:
                # Stop the apps first, then (leaving the with) the embedded server; signals from
                # now on only say "please wait".
                cleaning_up()
                if children:
                    say("stopping the apps...")
                stop_all(children)
                state.remove(config.state_file)
    except Shutdown as stop:
        say(f"{stop}: stopped everything.")
        return 0
    except ChildExited as exc:
        say(f"{exc}; stopped everything. See its output above.")
        return 1
    finally:
        if not config.database_url:
            say("embedded database stopped.")
    return 0


def load_demo(config: LauncherConfig, env: dict[str, str], url: str) -> str:
    if not config.demo_data:
        return "not loaded: CRM_DEMO_DATA=0"
    started = time.monotonic()
    try:
        if demo_marker.still_loaded(config, url):
            took = time.monotonic() - started
            say(f"demo data already loaded today ({took:.1f} s: {demo_marker.MARKER_FILE}, row counts)")
            return "loaded earlier today"
        demo_marker.forget(config)
        report = demo_data.load(config.gateway_url, env)
        demo_marker.record(config, url)
    except (demo_data.DemoDataError, OSError, ValueError, KeyError) as exc:
        say(f"demo data NOT loaded: {exc}")
        return "NOT loaded, see above"
    except Exception as exc:  # httpx and asyncpg errors and the like: the stack is still worth keeping up
        say(f"demo data NOT loaded: {type(exc).__name__}: {exc}")
        return "NOT loaded, see above"
    say(
        f"demo data loaded ({time.monotonic() - started:.1f} s): "
        f"{len(report.created)} created, {len(report.existing)} already there"
    )
    return f"{len(report.created)} records created, {len(report.existing)} already there"


def migrate_only(config: LauncherConfig) -> int:
    try:
        with signals_stop_us(), database(config) as url:
            migrated = migrate(config, url)
            checkpoint()
    except Shutdown as stop:
        say(f"{stop}: migrations interrupted.")
        return 1
    say(f"migrations at head: {', '.join(migrated)}")
    return 0


def clean_data(config: LauncherConfig) -> int:
    """Stop embedded servers left running under the data folder, then delete it."""
    other = state.running_launcher(config.state_file)
    if other is not None:
        raise SystemExit(f"{PREFIX} a launcher (pid {other}) uses {_shown(config.data_dir)}: stop it first")
    if not config.data_dir.exists():
        say(f"nothing to delete: {_shown(config.data_dir)} does not exist")
        return 0
    for pid_file in sorted(config.data_dir.glob("**/postmaster.pid")):
        say(f"stopping the embedded server in {_shown(pid_file.parent)}")
        stop_embedded(None, pid_file.parent)
    shutil.rmtree(config.data_dir)
    say(f"deleted {_shown(config.data_dir)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="{run,migrate,clean-data}")
    commands.add_parser("run", help="database, migrations, the five apps, demo data (default)")
    commands.add_parser("migrate", help="run every app's migrations to head, then exit")
    commands.add_parser("clean-data", help="stop leftover embedded servers, delete the data folder")
    args = parser.parse_args(argv)
    try:
        config = launcher_config.load()
    except launcher_config.ConfigError as exc:
        parser.error(str(exc))
    if args.command == "migrate":
        return migrate_only(config)
    if args.command == "clean-data":
        return clean_data(config)
    return run(config)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # before our handlers were installed: nothing was started yet
        sys.exit(130)
