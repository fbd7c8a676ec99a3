"""What the launcher reads from the environment: data folder, database, ports, host."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from launcher.apps import ALL_APPS, GATEWAY, ROOT, SERVICES, AppSpec

HOST = "127.0.0.1"


class ConfigError(ValueError):
    """A launcher setting has a value it cannot use."""


@dataclass(frozen=True)
class LauncherConfig:
    """Everything ``python -m launcher`` needs, resolved once from the environment.

    - ``CRM_DATA_DIR``: local state (default ``./.data``); the embedded server lives in ``<dir>/pg``.
    - ``CRM_DATABASE_URL``: use that server; unset, an embedded PostgreSQL starts.
    - ``CRM_PORT_OFFSET``: added to every default port (8000, 8101..8104), e.g. ``10000``.
    - ``<PREFIX>PORT`` (``GATEWAY_PORT``, ``CLIENTS_PORT``...): one app's port, wins over the offset.
    - ``CRM_READY_TIMEOUT``: seconds to wait for every ``/readyz`` (default 120).
    - ``CRM_APPS_AT_ONCE``: how many apps may be starting at a time (default: one more than the CPU
      count); the next starts as soon as one is ready.
    - ``CRM_DEMO_DATA``: ``0`` skips loading the demo data.
    """

    data_dir: Path
    database_url: str | None
    ports: Mapping[str, int]
    ready_timeout: float = 120.0
    apps_at_once: int = 3
    demo_data: bool = True
    host: str = HOST
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def state_file(self) -> Path:
        """Written while the stack runs: launcher and child PIDs, URLs (read by tests and tools)."""
        return self.data_dir / "launcher.json"

    def port(self, spec: AppSpec) -> int:
        return self.ports[spec.name]

    def url(self, spec: AppSpec) -> str:
        return f"http://{self.host}:{self.port(spec)}"

    @property
    def gateway_url(self) -> str:
        return self.url(GATEWAY)

    def database_url_for(self, spec: AppSpec, shared_url: str) -> str:
        """``CLIENTS_DATABASE_URL`` wins over the shared URL, as in the apps' own settings."""
        return self.env.get(f"{spec.env_prefix}DATABASE_URL") or shared_url

    def migration_url_for(self, spec: AppSpec, shared_url: str) -> str:
        """Migrations go to the server itself, past any pooler: ``CLIENTS_DATABASE_DIRECT_URL``, then
        ``CRM_DATABASE_DIRECT_URL``, else the database URL (docs/pgbouncer.md)."""
        return (
            self.env.get(f"{spec.env_prefix}DATABASE_DIRECT_URL")
            or self.env.get("CRM_DATABASE_DIRECT_URL")
            or self.database_url_for(spec, shared_url)
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def resolve_ports(env: Mapping[str, str]) -> dict[str, int]:
    offset = _int(env, "CRM_PORT_OFFSET", 0)
    ports = {spec.name: _int(env, f"{spec.env_prefix}PORT", spec.port + offset) for spec in ALL_APPS}
    for name, port in ports.items():
        if not 1 <= port <= 65535:
            raise ConfigError(f"{name}: port {port} is out of range")
    if len(set(ports.values())) != len(ports):
        raise ConfigError(f"two apps share a port: {ports}")
    return ports


def load(env: Mapping[str, str] | None = None) -> LauncherConfig:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("CRM_DATA_DIR") or ROOT / ".data")
    if not data_dir.is_absolute():
        data_dir = ROOT / data_dir
    return LauncherConfig(
        data_dir=data_dir,
        database_url=env.get("CRM_DATABASE_URL") or None,
        ports=resolve_ports(env),
        ready_timeout=float(_int(env, "CRM_READY_TIMEOUT", 120)),
        apps_at_once=max(1, _int(env, "CRM_APPS_AT_ONCE", (os.cpu_count() or 2) + 1)),
        demo_data=env.get("CRM_DEMO_DATA", "1").strip().lower() not in ("0", "false", "no", "off"),
        env=env,
    )


_DATABASES_APART = (
    "CRM_DATABASE_REPLICA_URL",
    *(
        f"{name}_{what}"
        for name in ("CLIENTS", "POLICIES", "CLAIMS", "DEVICES", "TASKS")
        for what in ("DATABASE_URL", "DATABASE_REPLICA_URL")
    ),
    "GATEWAY_DATABASE_URL",
)


def app_environment(config: LauncherConfig, database_url: str) -> dict[str, str]:
    """The environment every child gets: ours, plus the database and the local topology."""
    env = dict(config.env)
    env["CRM_DATABASE_URL"] = database_url
    env.setdefault("CRM_ENVIRONMENT", "development")
    env["PYTHONUNBUFFERED"] = "1"  # their stdout is a pipe to us: line by line, not in blocks
    # The topology, once for every app: each reads <APP>_X first, then CRM_X.
    for spec in SERVICES:
        env[f"CRM_{spec.name.upper()}_URL"] = config.url(spec)
    env["CRM_IDENTITY_URL"] = config.gateway_url
    # The gateway keeps agendas until a service signals a change, a NOTIFY on the database the
    # gateway listens on (gateway/views/agenda_cache.py). A service on a database of its own, or read
    # from a replica, would go unheard: then the gateway keeps none.
    if any(config.env.get(name) for name in _DATABASES_APART):
        env.setdefault("GATEWAY_AGENDA_CACHE_SECONDS", "0")
    # Documents on the local backend live beside the embedded database, unless told otherwise.
    env.setdefault("DOCUMENTS_DATA_DIR", str(config.data_dir / "documents"))
    return env
