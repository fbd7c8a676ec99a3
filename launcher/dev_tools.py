"""Development tools the apps never run, kept out of the apps' processes.

In the development environment schemathesis brings in rich, and with it pygments. Two libraries the
apps do use then import them because they are there: httpx imports its command-line client
(``httpx._main``: click, rich, pygments) and structlog imports rich for its console's tracebacks.
No app runs httpx's command line, and the apps log JSON lines, never rich's tracebacks. Measured on
2026-12-02: ~3.3 MB of RSS per app (clients 117.6 → 114.1 MB at import, gateway 110.6 → 107.2),
the ~4 MB a production image (``uv sync --no-dev``) lacks anyway.

A ``None`` in ``sys.modules`` makes an import of that name raise ``ImportError``
(https://docs.python.org/3/reference/import.html#the-module-cache), which both libraries catch and
go on without. Only the apps' processes do this; the tests' process keeps everything installed.
"""

from __future__ import annotations

import sys

NOT_FOR_APPS = ("httpx._main", "rich")


def keep_out_of_apps() -> None:
    """Before the first import of httpx or structlog: their optional development imports fail."""
    for name in NOT_FOR_APPS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
