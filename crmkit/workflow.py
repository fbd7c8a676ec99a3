"""State machines as data: one transition table type, one check, one 409 body in every service.

A service declares each machine as a table (state → the states it may move to next) in its
``transitions.py`` and calls :func:`ensure_transition` before it changes anything. An illegal
move answers the same problem everywhere::

    409 application/problem+json
    {"type": ".../illegal-transition", "title": "Illegal state transition", "status": 409,
     "detail": "a claim cannot move from paid to submitted; allowed next states: none (final state)",
     "current_state": "paid", "requested_state": "submitted", "allowed_next_states": []}

Routes that may answer it declare ``responses=TRANSITION_RESPONSES`` so that the body is part of
the OpenAPI contract (``IllegalTransitionProblem``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, cast

from pydantic import ConfigDict

from crmkit.problems import PROBLEM_JSON, Conflict, Problem

S = TypeVar("S", bound=str)

TransitionTable = Mapping[S, frozenset[S]]
"""State → the states it may move to next. Build one with :func:`transition_table`."""


def transition_table(moves: Mapping[S, Iterable[S]]) -> TransitionTable[S]:
    """A read-only table; every target must itself be a state of the table (checked at import)."""
    table = {state: frozenset(targets) for state, targets in moves.items()}
    unknown = {t for targets in table.values() for t in targets} - table.keys()
    if unknown:
        raise ValueError(f"transition targets without a row of their own: {sorted(unknown)}")
    return MappingProxyType(table)


def allowed_next(table: TransitionTable[S], current: str) -> list[str]:
    """The states ``current`` may move to, sorted (empty for a final or unknown state)."""
    return sorted(table.get(cast(S, current), frozenset()))


def final_states(table: TransitionTable[S]) -> frozenset[S]:
    """States with no way out."""
    return frozenset(state for state, targets in table.items() if not targets)


class IllegalTransition(Conflict):
    """The state machine does not allow this move; the body names the moves it does allow."""

    title = "Illegal state transition"
    slug = "illegal-transition"

    def __init__(self, *, resource: str, current: str, requested: str, allowed: Iterable[str]) -> None:
        allowed_list = sorted(allowed)
        shown = ", ".join(allowed_list) if allowed_list else "none (final state)"
        super().__init__(
            f"a {resource} cannot move from {current} to {requested}; allowed next states: {shown}",
            extra={
                "current_state": current,
                "requested_state": requested,
                "allowed_next_states": allowed_list,
            },
        )


def ensure_transition(table: TransitionTable[S], *, resource: str, current: str, requested: str) -> None:
    """Nothing when the table allows ``current → requested``; otherwise :class:`IllegalTransition`."""
    allowed = table.get(cast(S, current), frozenset())
    if requested not in allowed:
        raise IllegalTransition(resource=resource, current=current, requested=requested, allowed=allowed)


class IllegalTransitionProblem(Problem):
    """The one 409 body of an illegal state move, in every service."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/illegal-transition",
                    "title": "Illegal state transition",
                    "status": 409,
                    "detail": "a claim in status paid cannot move to submitted",
                    "current_state": "paid",
                    "requested_state": "submitted",
                    "allowed_next_states": ["closed"],
                }
            ]
        }
    )

    current_state: str
    requested_state: str
    allowed_next_states: list[str]


TRANSITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "model": IllegalTransitionProblem,
        "content": {PROBLEM_JSON: {}},
        "description": "Illegal state transition: `allowed_next_states` lists the moves allowed now",
    }
}
"""``responses=`` of a route whose request may be an illegal state move."""

TRANSITION_OR_CONFLICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "model": IllegalTransitionProblem | Problem,
        "content": {PROBLEM_JSON: {}},
        "description": "Illegal state transition (`allowed_next_states` lists the moves allowed now),"
        " or another conflict with the record's state, named in `type` and `detail`",
    }
}
"""``responses=`` of a route that may refuse a move for a reason besides the table (documents missing)."""
