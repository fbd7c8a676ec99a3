"""The two generators, pinned, and their checks. Each returns what it printed, so a test can demand
zero warnings.

- openapi-python-client runs isolated (``uv tool run`` with a pinned version: its own pins of
  pydantic, httpx and ruff need not match ours); mypy (strict) then checks the package with our venv.
- openapi-typescript + openapi-fetch + typescript come from tools/sdk-ts/package-lock.json
  (``npm ci``); ``tsc --noEmit`` then checks the schema with a small typed client over it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON_GENERATOR = "openapi-python-client==0.29.1"
PYTHON_CONFIG = ROOT / "tools" / "sdk-python" / "config.yaml"
PYTHON_PACKAGE = "crm_api_client"
TS_TOOLS = ROOT / "tools" / "sdk-ts"
TS_TEMPLATE = ("index.ts", "tsconfig.json")
# openapi-python-client prints one header per problem; openapi-typescript (Redocly) "warning"/"⚠".
_PYTHON_WARNING = re.compile(r"^(WARNING|Warning|Unable to|Error|ERROR)", re.MULTILINE)
_TS_WARNING = re.compile(r"(warn|⚠|error)", re.IGNORECASE)


@dataclass(frozen=True)
class Generated:
    output: Path
    log: str
    warnings: list[str]


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    log = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{log}")
    return log


def write_document(document: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def generate_python(document: Path, out: Path) -> Generated:
    """``out/crm_api_client``: the package (models, one module per operation, sync and async)."""
    package = out / PYTHON_PACKAGE
    shutil.rmtree(package, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    uv = Path(sys.executable).parent / "uv"
    log = _run(
        [
            str(uv if uv.exists() else "uv"),
            "tool",
            "run",
            "--from",
            PYTHON_GENERATOR,
            "openapi-python-client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(package),
            "--meta",
            "none",
            "--config",
            str(PYTHON_CONFIG),
        ],
        cwd=out,
    )
    return Generated(package, log, _PYTHON_WARNING.findall(log))


def check_python(out: Path) -> str:
    """mypy --strict over the generated package (not our config: the package is not ours)."""
    return _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            str(ROOT / "tools" / "sdk-python" / "mypy.ini"),
            "-p",
            PYTHON_PACKAGE,
        ],
        cwd=out,
    )


def install_typescript_tools() -> None:
    """``npm ci`` in tools/sdk-ts, unless node_modules already matches the lock."""
    installed = TS_TOOLS / "node_modules" / ".package-lock.json"
    lock = TS_TOOLS / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TS_TOOLS)


def generate_typescript(document: Path, out: Path) -> Generated:
    """``out/schema.d.ts`` (openapi-typescript), with ``index.ts`` (an openapi-fetch client) beside it."""
    install_typescript_tools()
    out.mkdir(parents=True, exist_ok=True)
    binary = TS_TOOLS / "node_modules" / ".bin" / "openapi-typescript"
    log = _run([str(binary), str(document), "--output", str(out / "schema.d.ts")], cwd=out)
    for name in TS_TEMPLATE:
        shutil.copyfile(TS_TOOLS / name, out / name)
    modules = out / "node_modules"
    if not modules.exists():
        modules.symlink_to(TS_TOOLS / "node_modules", target_is_directory=True)
    warnings = [line for line in log.splitlines() if _TS_WARNING.search(line)]
    return Generated(out, log, warnings)


def check_typescript(out: Path) -> str:
    """``tsc --noEmit`` (strict) over the schema and the client."""
    return _run([str(TS_TOOLS / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", str(out)], cwd=out)
