"""The apps of the stack: where each lives, its schema, its port, its migrations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AppSpec:
    name: str
    module: str  # uvicorn target
    package: str  # where migrations/ lives
    schema: str
    port: int
    env_prefix: str

    @property
    def migrations_dir(self) -> Path:
        return ROOT / self.package.replace(".", "/") / "migrations"

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


GATEWAY = AppSpec("gateway", "gateway.main:app", "gateway", "identity", 8000, "GATEWAY_")
SERVICES = (
    AppSpec("clients", "services.clients.main:app", "services.clients", "clients", 8101, "CLIENTS_"),
    AppSpec("policies", "services.policies.main:app", "services.policies", "policies", 8102, "POLICIES_"),
    AppSpec("claims", "services.claims.main:app", "services.claims", "claims", 8103, "CLAIMS_"),
    AppSpec("devices", "services.devices.main:app", "services.devices", "devices", 8104, "DEVICES_"),
    AppSpec(
        "documents", "services.documents.main:app", "services.documents", "documents", 8105, "DOCUMENTS_"
    ),
    AppSpec("tasks", "services.tasks.main:app", "services.tasks", "tasks", 8106, "TASKS_"),
    AppSpec(
        "performance",
        "services.performance.main:app",
        "services.performance",
        "performance",
        8107,
        "PERFORMANCE_",
    ),
)
ALL_APPS = (GATEWAY, *SERVICES)
