"""The apps' processes leave out the development tools httpx and structlog would import because
the development environment has them (``launcher/dev_tools.py``); both libraries still work."""

from __future__ import annotations

import json
import subprocess
import sys

from launcher.apps import ROOT

PROBE = """
import json, sys
{prelude}
import httpx, structlog
structlog.get_logger().bind(a=1)
httpx.Request("GET", "http://example.test/")
print(json.dumps({{name: sys.modules.get(name) is not None for name in ("rich", "pygments", "httpx._main")}}))
"""


def loaded(prelude: str) -> dict[str, bool]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(prelude=prelude)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, bool] = json.loads(out.stdout)
    return result


def test_an_app_process_imports_neither_rich_nor_httpx_command_line() -> None:
    kept_out = loaded("from launcher.dev_tools import keep_out_of_apps; keep_out_of_apps()")
    assert kept_out == {"rich": False, "pygments": False, "httpx._main": False}


def test_the_development_environment_would_have_loaded_them() -> None:
    # What the measure is for: without it, the same imports bring rich in (schemathesis installs it).
    assert loaded("")["rich"] is True
