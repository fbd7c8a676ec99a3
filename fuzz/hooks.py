"""Schemathesis hooks (``SCHEMATHESIS_HOOKS=fuzz.hooks``).

Cursors are opaque: only a ``next_cursor`` the API issued is valid (``cursor`` on lists, ``since``
on the changes feeds, ``after`` on the event streams), which no schema can say, so generated cases
that carry a made-up one are dropped (the test suite covers foreign cursors: they answer 422).
Every other parameter is fuzzed as generated.

Every answer's status is tallied per operation into ``CRM_FUZZ_TALLY`` (a JSON file written at exit),
so ``python -m fuzz`` can say how much of the run reached the code rather than the 401 path.
"""

from __future__ import annotations

import atexit
import json
import os
from collections import Counter, defaultdict
from typing import Any

import schemathesis

OPAQUE_CURSORS = frozenset({"cursor", "since", "after"})


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    return not query or not OPAQUE_CURSORS.intersection(query)


_tally: defaultdict[str, Counter[int]] = defaultdict(Counter)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    _tally[str(case.operation.label)][int(response.status_code)] += 1


def _write_tally() -> None:
    path = os.environ.get("CRM_FUZZ_TALLY")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({label: dict(counts) for label, counts in _tally.items()}, out)


atexit.register(_write_tally)
