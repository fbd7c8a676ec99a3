"""No request waits for FastAPI's thread pool.

FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: a hand-off and a context
switch each way on every request that uses it (issue 22's agenda profile found ``get_tools`` and
the like on every call of every service, 4-6 % of each service's samples). None of ours blocks,
so each is ``async def`` and runs on the event loop; this keeps it so.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tests.conftest import Stack


def _routes(routes: list[BaseRoute]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes)
        else:
            yield getattr(route, "original_route", route)


def _on_the_loop(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or (not inspect.isfunction(call) and inspect.iscoroutinefunction(type(call).__call__))
    )


def _threaded(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        if sub.call is not None and not _on_the_loop(sub.call):
            yield f"{sub.call.__module__}.{sub.call.__qualname__}"
        yield from _threaded(sub)


def test_every_endpoint_and_dependency_of_every_app_runs_on_the_event_loop(stack: Stack) -> None:
    threaded: set[str] = set()
    checked = 0
    for name, app in stack.apps.items():
        for route in _routes(app.router.routes):
            if not isinstance(route, APIRoute):
                continue
            checked += 1
            if not _on_the_loop(route.endpoint):
                threaded.add(f"{name} {route.path}: endpoint {route.endpoint.__qualname__}")
            threaded.update(f"{name} {route.path}: {call}" for call in _threaded(route.dependant))
    assert checked > 250  # every app was walked (297 routes on 2026-12-01)
    assert not threaded, sorted(threaded)
