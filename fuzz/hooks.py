"""Schemathesis hooks (``SCHEMATHESIS_HOOKS=fuzz.hooks``).

``cursor`` is opaque: only a ``next_cursor`` the API issued is valid, which no schema can say, so
generated cases that carry a made-up cursor are dropped (the test suite covers foreign cursors:
they answer 422). Every other parameter is fuzzed as generated.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    return not query or "cursor" not in query
