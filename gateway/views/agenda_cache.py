"""The agendas the gateway keeps: each service's part, until that service signals a change.

An agenda is five services' work lists. Asking all five on every request cost ~60 ms of CPU across
the apps (issue 22), while the lists change far less often than agents open the app. So the gateway
keeps each agenda it built, per service part, and answers from memory until

- the service signals a committed change (``crmkit.change_signals``: a trigger on its tables runs
  ``NOTIFY crm_changes, '<service>'``; the gateway LISTENs on its database, which the services share
  in the default deployment): that service's part of *every* kept agenda is asked again next time,
  the other parts are kept;
- a write through the gateway's own proxy to that service answered (the same, at once: an agent
  who changes something and opens the agenda sees the change, without waiting on the notification);
- the part is older than ``agenda_cache_seconds`` (the bound on anything the signals miss);
- the listening connection is lost: everything is dropped, and nothing is kept until it is back.

A partial answer is never served again: the parts that came are kept, and only the services that
failed are asked next time. At most ``agenda_builds`` agendas are built at once (the rest wait their
turn rather than time out in the services), and asks for an agenda already being built wait for
that build instead of asking the services again (``collapsed`` in ``Cache-Status``).

The key is whose agenda and everything the services scope a list by
(the token's user, role, team, location, scopes), the day, and today. ``Cache-Control: no-cache``
on the request asks every service again; ``Cache-Status`` (RFC 9211) on the answer says how it was
served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI

from crmkit.app import AppHook
from crmkit.change_signals import CHANNEL
from gateway.config import Settings
from gateway.views.schemas import Source

log = logging.getLogger("gateway.agenda_cache")

CHECK_SECONDS = 5.0
"""How often the listening connection is checked (a dead one drops everything)."""
RETRY_SECONDS = 1.0
CACHE_STATUS = "Cache-Status"
APPLICATION_NAME = "gateway agenda listener"
"""How the listening connection shows in ``pg_stat_activity``."""
NAME = "gateway"


@dataclass(frozen=True, slots=True)
class Part:
    """One service's part of one agenda, as it answered: its sections, the day's marks (tasks), and
    the change count of the service when it was asked."""

    result: Any
    source: Source
    generation: int
    epoch: int
    fetched_at: float


@dataclass(slots=True)
class Kept:
    """An agenda's parts, and its body in pieces when they were all there (a partial one is not
    served again). The pieces share the parts' bytes, but for sections marked on copies."""

    parts: dict[str, Part]
    pieces: list[bytes] | None


class AgendaCache:
    """Kept agendas, least recently used dropped first past ``max_entries``."""

    def __init__(self, *, max_age_seconds: float, max_entries: int, max_builds: int) -> None:
        self.max_age_seconds = max_age_seconds
        self.max_entries = max_entries
        self.listening = False
        self.epoch = 0
        self.builds = asyncio.Semaphore(max_builds)
        """Held while an agenda's services are asked (kept or not)."""
        self._generations: dict[str, int] = {}
        self._kept: OrderedDict[Hashable, Kept] = OrderedDict()
        self._building: dict[Hashable, asyncio.Event] = {}

    @property
    def usable(self) -> bool:
        return self.listening and self.max_age_seconds > 0 and self.max_entries > 0

    def changed(self, service: str) -> None:
        """``service`` changed something: every kept part of it is stale."""
        self._generations[service] = self._generations.get(service, 0) + 1

    def generation(self, service: str) -> int:
        return self._generations.get(service, 0)

    def forget_all(self) -> None:
        self.epoch += 1
        self._kept.clear()

    def kept(self, key: Hashable) -> Kept | None:
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
        return kept

    def fresh(self, part: Part | None, service: str, now: float) -> bool:
        return (
            part is not None
            and part.source.ok
            and part.epoch == self.epoch
            and part.generation == self.generation(service)
            and now - part.fetched_at < self.max_age_seconds
        )

    def keep(self, key: Hashable, kept: Kept) -> None:
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)

    def being_built(self, key: Hashable) -> asyncio.Event | None:
        """Set when the agenda of ``key`` now being built is kept (or failed); None if none is."""
        return self._building.get(key)

    @contextlib.contextmanager
    def building(self, key: Hashable) -> Iterator[None]:
        """While ``key``'s agenda is built: asks for it wait (``being_built``) instead of asking too."""
        done = self._building[key] = asyncio.Event()
        try:
            yield
        finally:
            del self._building[key]
            done.set()

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.changed(payload)


def audience(
    user_id: uuid.UUID, role: str, team_id: uuid.UUID | None, location: str | None, scopes: Any
) -> Hashable:
    """What the services scope an agenda's lists by: the same for two tokens, the same lists."""
    return (user_id, role, team_id, location, None if scopes is None else frozenset(scopes))


def _when_lost(cache: AgendaCache, lost: asyncio.Event) -> Callable[[object], None]:
    def on_lost(_conn: object) -> None:
        # At once, not at the next check: a notification may be missed from this moment on.
        cache.listening = False
        cache.forget_all()
        lost.set()

    return on_lost


async def _listen(cache: AgendaCache, url: str) -> None:
    """Keep one connection LISTENing; while it is not, nothing is kept (what it missed is unknown)."""
    while True:
        conn: asyncpg.Connection | None = None
        lost = asyncio.Event()
        on_lost = _when_lost(cache, lost)
        try:
            conn = await asyncpg.connect(
                url, timeout=CHECK_SECONDS, server_settings={"application_name": APPLICATION_NAME}
            )
            conn.add_termination_listener(on_lost)
            await conn.add_listener(CHANNEL, cache.on_notify)
            cache.forget_all()
            cache.listening = True
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
                if not lost.is_set():  # a silent network: the check fails, and drops the connection
                    await conn.fetchval("SELECT 1", timeout=CHECK_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database away: retried, with nothing kept meanwhile
            log.warning("agenda cache not listening: %s", error.__class__.__name__)
        finally:
            cache.listening = False
            cache.forget_all()
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
        await asyncio.sleep(RETRY_SECONDS)


def agenda_cache_hook(settings: Settings) -> AppHook:
    """``app.state.agenda_cache``, and its listener while the app runs (none when turned off)."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        cache = AgendaCache(
            max_age_seconds=settings.agenda_cache_seconds,
            max_entries=settings.agenda_cache_entries,
            max_builds=settings.agenda_builds,
        )
        app.state.agenda_cache = cache
        if settings.agenda_cache_seconds <= 0 or settings.agenda_cache_entries <= 0:
            yield
            return
        url = settings.require_direct_database_url().replace("postgresql+asyncpg://", "postgresql://", 1)
        listener = asyncio.create_task(_listen(cache, url), name="agenda-cache-listener")
        try:
            yield
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    return hook
