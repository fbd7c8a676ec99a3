"""Calls to other services over HTTP, and nothing else.

The devices service calls no other service today: it only keeps the pooled peer client every app
has (``app.state.peer_http``, crmkit.peers), so that a future call has one place to live. Any call
to another service goes here, through ``crmkit.peers.get_json`` with the caller's token.
"""

from __future__ import annotations

import httpx

from crmkit.app import AppHook
from crmkit.peers import peer_client_hook
from services.devices.config import Settings


def peer_hooks(settings: Settings, *, transport: httpx.AsyncBaseTransport | None) -> list[AppHook]:
    """The app's hooks for peer calls: one pooled client with the service's peer timeout."""
    return [peer_client_hook(timeout_seconds=settings.peer_timeout_seconds, transport=transport)]
