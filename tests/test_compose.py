"""docker-compose.yml and the Dockerfile cannot be run here (no Docker engine): keep them honest.

The apps, their modules and ports come from ``launcher.apps`` (what ``make run`` starts); the
compose file must describe the same stack.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import yaml

from launcher.apps import ALL_APPS, GATEWAY, ROOT, SERVICES, AppSpec

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SHARED_ENV = ("CRM_DATABASE_URL", "CRM_ENVIRONMENT", "CRM_JWT_SECRET", "CRM_FIELD_ENCRYPTION_KEY")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    found = document["services"]
    assert isinstance(found, dict)
    return found


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _default(value: str) -> str:
    """``${VAR:-default}`` → ``default`` (what compose uses when the variable is unset)."""
    match = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    return match.group(1) if match else value


def test_the_five_apps_and_the_infrastructure_are_there(services: dict[str, Any]) -> None:
    assert {spec.name for spec in ALL_APPS} | {"postgres", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_runs_its_module_on_its_port(services: dict[str, Any], spec: AppSpec) -> None:
    command = services[spec.name]["command"]
    assert command[:4] == ["python", "-m", "launcher.serve", spec.module]
    assert _option(command, "--port") == str(spec.port)
    assert _option(command, "--host") == "0.0.0.0"


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_has_a_readiness_healthcheck(services: dict[str, Any], spec: AppSpec) -> None:
    test = " ".join(services[spec.name]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{spec.port}/readyz" in test
    assert "curl" not in test  # python:3.11-slim has no curl


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_starts_after_the_migrations(services: dict[str, Any], spec: AppSpec) -> None:
    depends = services[spec.name]["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}


def test_the_migrations_run_once_after_postgres_is_healthy(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "launcher", "migrate"]
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert migrate.get("restart") == "no"
    assert "CRM_DATABASE_URL" in migrate["environment"]


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_gets_the_shared_settings(services: dict[str, Any], spec: AppSpec) -> None:
    env = services[spec.name]["environment"]
    for name in SHARED_ENV:
        assert env.get(name), f"{spec.name}: {name} missing"
    assert env["CRM_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["CRM_DATABASE_URL"]
    # No default environment: compose refuses to start until one is named explicitly.
    assert env["CRM_ENVIRONMENT"].startswith("${CRM_ENVIRONMENT:?")
    assert len(base64.urlsafe_b64decode(_default(env["CRM_FIELD_ENCRYPTION_KEY"]))) == 32
    assert len(_default(env["CRM_JWT_SECRET"])) >= 32


def test_every_app_reaches_every_other_by_its_compose_name(services: dict[str, Any]) -> None:
    for app in ALL_APPS:
        env = services[app.name]["environment"]
        for spec in SERVICES:
            assert env[f"CRM_{spec.name.upper()}_URL"] == f"http://{spec.name}:{spec.port}"
        assert env["CRM_IDENTITY_URL"] == f"http://{GATEWAY.name}:{GATEWAY.port}"
    env = services[GATEWAY.name]["environment"]
    redis = env.get("CRM_REDIS_URL")
    if redis:
        assert redis.startswith("redis://redis:")
        assert "redis" in services


def test_only_the_gateway_publishes_a_port(services: dict[str, Any]) -> None:
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert published == {GATEWAY.name: [f"{GATEWAY.port}:{GATEWAY.port}"]}


def test_one_image_for_all_apps(services: dict[str, Any]) -> None:
    images = {services[name].get("image") for name in ("migrate", *(spec.name for spec in ALL_APPS))}
    assert len(images) == 1
    assert None not in images


def test_dockerfile_installs_exactly_the_lock_without_dev_tools() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in text
    assert re.search(r"uv sync --locked\b.*--no-dev", text)
    assert "uv==0.13.9" in text
    assert re.search(r"^USER (?!root)\S+", text, re.MULTILINE), "the apps must not run as root"
    for package in {spec.package.split(".")[0] for spec in ALL_APPS} | {"crmkit", "launcher"}:
        assert re.search(rf"^COPY {package} ", text, re.MULTILINE), f"{package} is not copied"
    assert GATEWAY.module in text  # the default command


def test_forwarded_headers_are_trusted_only_from_configured_proxies(services: dict[str, Any]) -> None:
    env = services["gateway"]["environment"]
    assert env["CRM_TRUSTED_PROXIES"] == "${CRM_TRUSTED_PROXIES:-}"
