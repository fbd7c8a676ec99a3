"""The log lines (crmkit/observability.py): ours go straight to stdout, foreign ones through the
stdlib handler; both are the same JSON, one whole line per write, filtered by the configured level."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from crmkit.context import request_id_var
from crmkit.observability import configure_logging


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """configure_logging is process-wide: put back what the other tests run with."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    token = request_id_var.set(None)
    yield
    request_id_var.reset(token)
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_our_line_and_a_foreign_one_have_the_same_shape(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("clients")
    request_id_var.set("rid-1")
    log = structlog.get_logger("clients")
    log.info("request", method="GET", route="/x/{id}", status=200, duration_ms=1.5)
    logging.getLogger("documents").warning("foreign %s", "arg")

    ours, foreign = lines(capsys.readouterr().out)
    assert list(ours) == [
        *("method", "route", "status", "duration_ms"),
        *("event", "level", "logger", "timestamp", "request_id", "service"),
    ]
    assert ours["event"] == "request"
    assert [ours[key] for key in ("level", "logger", "request_id", "service")] == [
        *("info", "clients", "rid-1", "clients")
    ]
    assert list(foreign) == ["event", "level", "logger", "timestamp", "request_id", "service"]
    assert (foreign["event"], foreign["level"], foreign["logger"]) == ("foreign arg", "warning", "documents")


def test_an_exception_is_rendered_in_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("clients")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        structlog.get_logger("clients").exception("boom")

    (line,) = lines(capsys.readouterr().out)
    assert line["level"] == "error"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("ZeroDivisionError: division by zero")


def test_below_the_configured_level_nothing_is_written(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("clients", level="WARNING")
    log = structlog.get_logger("clients")
    log.info("hidden")
    logging.getLogger("documents").info("hidden too")
    log.warning("shown")

    assert [line["event"] for line in lines(capsys.readouterr().out)] == ["shown"]


def test_the_console_renderer_still_writes_our_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("clients", json=False)
    structlog.get_logger("clients").info("request", status=200)

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "request" in out
    assert "status" in out


def test_lines_from_threads_are_never_interleaved(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("clients")
    log = structlog.get_logger("clients")
    per_thread = 200

    def ours(n: int) -> None:
        for i in range(per_thread):
            log.info("request", thread=n, i=i, padding="x" * 500)

    def foreign(n: int) -> None:
        for i in range(per_thread):
            logging.getLogger("documents").info("foreign %s %s %s", n, i, "x" * 500)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(4) for target in (ours, foreign)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    written = lines(capsys.readouterr().out)  # each line parses on its own
    assert len(written) == len(threads) * per_thread
