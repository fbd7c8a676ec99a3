"""What checking revocations costs a request (issue 14, finding 6).

Every authenticated request on every app now asks the in-memory revocation list whether its token
was revoked (``crmkit.auth.verify_access_token``). This measures that check on its own, with an
empty list and with 10,000 revoked subjects (a very busy quarter hour), beside the token
verification it follows; the pull behind the list is one small query a second per app, whatever
the traffic.
"""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

from starlette.requests import Request

from crmkit.auth import Role, issue_access_token, verify_access_token
from crmkit.revocations import Revocation, Revocations
from crmkit.settings import CommonSettings

ROUNDS = 200_000


def _request(state: SimpleNamespace) -> Request:
    return Request({"type": "http", "app": SimpleNamespace(state=state), "headers": []})


def _per_call_us(request: Request, token: str) -> float:
    started = time.perf_counter()
    for _ in range(ROUNDS):
        verify_access_token(request, token)
    return (time.perf_counter() - started) / ROUNDS * 1e6


def measure(settings: CommonSettings) -> dict[str, float]:
    """Microseconds per ``verify_access_token`` (cached token) without and with revocations."""
    token = issue_access_token(
        settings, user_id=uuid.uuid4(), role=Role.AGENT, team_id=uuid.uuid4(), session_id=uuid.uuid4()
    )
    without = _request(SimpleNamespace(settings=settings))
    many = Revocations()
    now = time.time()
    many.add(
        Revocation(kind, uuid.uuid4(), now) for kind in ("user", "session", "api_key") for _ in range(3334)
    )
    with_list = _request(SimpleNamespace(settings=settings, revocations=many))
    verify_access_token(without, token)  # warm the verified-token cache
    base = _per_call_us(without, token)
    checked = _per_call_us(with_list, token)
    return {
        "verify_without_list_us": round(base, 3),
        "verify_with_10k_revocations_us": round(checked, 3),
        "check_cost_us": round(checked - base, 3),
    }
