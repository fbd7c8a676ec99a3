"""Schemathesis hooks (``SCHEMATHESIS_HOOKS=fuzz.hooks``).

Cursors are opaque: only a ``next_cursor`` the API issued is valid (``cursor`` on lists, ``since``
on the changes feeds, ``after`` on the event streams), which no schema can say, so generated cases
that carry a made-up one are dropped (the test suite covers foreign cursors: they answer 422).
Every other parameter is fuzzed as generated.
"""

from __future__ import annotations

from typing import Any

import schemathesis

OPAQUE_CURSORS = frozenset({"cursor", "since", "after"})


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    return not query or not OPAQUE_CURSORS.intersection(query)
