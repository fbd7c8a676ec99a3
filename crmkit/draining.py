"""Draining: from the moment a process is told to stop, its ``/readyz`` answers 503.

``launcher.serve`` calls :func:`begin` when uvicorn receives SIGTERM or SIGINT; uvicorn then stops
accepting connections, closes idle keep-alive ones, finishes the requests in flight (up to its
``timeout_graceful_shutdown``) and only then runs the apps' shutdown (background loops are cancelled,
which rolls back any open transaction and so releases its advisory locks and row locks).
"""

from __future__ import annotations

import threading

_draining = threading.Event()


def begin() -> None:
    _draining.set()


def draining() -> bool:
    return _draining.is_set()


def reset() -> None:
    """Back in rotation (tests that drain an in-process app)."""
    _draining.clear()
