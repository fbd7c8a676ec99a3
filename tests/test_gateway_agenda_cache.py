"""The agendas the gateway keeps (gateway/views/agenda_cache.py): served again until a service
signals a change, never stale past a change, never another's, never a partial one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from crmkit.change_signals import CHANNEL, SILENT_TABLES, TRIGGER
from gateway.views.agenda_cache import APPLICATION_NAME, AgendaCache
from tests.conftest import People, Person, Stack
from tests.policies_support import create_client
from tests.tasks_support import create_task
from tests.views_support import AGENDA, record_interaction, slow, source, views_timeout

SIGNALLING = ("clients", "policies", "claims", "devices", "tasks")
QUIET = {"tasks": {"event_cursors", "deliveries", "notifications"}}
"""Tables the agenda shows nothing of, written all day by the tasks worker (its migration says why)."""


@pytest.fixture(autouse=True)
def patient(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A cold service's first answer can take longer than the views' timeout; here every answer
    must come, as what is kept is asserted."""
    with views_timeout(stack, monkeypatch, 10.0):
        yield


def cache_of(stack: Stack) -> AgendaCache:
    cache: AgendaCache = stack.apps["gateway"].state.agenda_cache
    return cache


async def agenda(api: httpx.AsyncClient, person: Person, **headers: str) -> httpx.Response:
    response = await api.get(AGENDA, headers={**person.headers, **headers})
    assert response.status_code == 200, response.text
    return response


def titles(body: dict[str, Any]) -> list[str]:
    return [entry["subject"]["display_name"] for entry in body["tasks"]["items"]]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """The NOTIFY is delivered after its commit, asynchronously: waited for, up to ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def settled(api: httpx.AsyncClient, person: Person) -> httpx.Response:
    """The agenda once served kept: a write sets off work in the background (the tasks worker acts
    on its event), whose own writes make the kept parts stale once more, as they should."""
    served: list[httpx.Response] = []

    async def hit() -> bool:
        served.append(await agenda(api, person))
        return served[-1].headers["cache-status"] == "gateway; hit"

    await eventually(hit)
    return served[-1]


async def listening(stack: Stack) -> None:
    async def ready() -> bool:
        return cache_of(stack).listening

    await eventually(ready)


class TestKept:
    async def test_the_second_ask_is_served_kept_and_the_same(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        await create_task(api, people.agent, title="回访李娜")

        first = await agenda(api, people.agent)
        second = await settled(api, people.agent)

        assert first.headers["cache-status"] == "gateway; fwd=uri-miss; stored"
        assert second.content == first.content
        assert titles(second.json()) == ["回访李娜"]

    async def test_never_anothers_agenda(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        await listening(stack)
        await create_task(api, people.agent, title="回访李娜")
        await agenda(api, people.agent)

        colleagues = await agenda(api, people.colleague)

        assert colleagues.headers["cache-status"] == "gateway; fwd=uri-miss; stored"
        assert colleagues.json()["agent_id"] == str(people.colleague.user_id)
        assert titles(colleagues.json()) == []

    async def test_no_cache_asks_every_service_again(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        await agenda(api, people.agent)

        again = await agenda(api, people.agent, **{"Cache-Control": "no-cache"})

        assert again.headers["cache-status"] == "gateway; fwd=request; stored"


class TestAChangeIsSeen:
    async def test_a_write_through_the_gateway_at_once(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        await agenda(api, people.agent)

        await create_task(api, people.agent, title="签单")
        after = await agenda(api, people.agent)

        assert after.headers["cache-status"] == "gateway; fwd=stale; stored"
        assert titles(after.json()) == ["签单"]

    async def test_a_write_straight_to_the_service_by_its_notification(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        """Not through the gateway (a worker, another gateway): the trigger's NOTIFY tells."""
        await listening(stack)
        await agenda(api, people.agent)
        async with stack.client("tasks") as tasks:
            await create_task(tasks, people.agent, title="递送保单")

        async def seen() -> bool:
            return titles((await agenda(api, people.agent)).json()) == ["递送保单"]

        await eventually(seen)

    async def test_a_team_leads_change_to_the_agents_client(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        client = await create_client(api, people.agent, name="赵敏")
        before = await settled(api, people.agent)
        assert before.json()["follow_ups"]["count"] == 0

        async with stack.client("clients") as clients:
            await record_interaction(
                clients, people.lead, client["id"], kind="call", next_follow_up_on=before.json()["date"]
            )

        async def seen() -> bool:
            follow_ups: int = (await agenda(api, people.agent)).json()["follow_ups"]["count"]
            return follow_ups == 1

        await eventually(seen)

    async def test_only_the_changed_service_is_asked_again(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        first = (await agenda(api, people.agent)).json()
        await create_task(api, people.agent, title="签单")
        stack.mesh.down.add("clients.internal")  # its part is still fresh: not asked

        after = await agenda(api, people.agent)

        body = after.json()
        assert after.headers["cache-status"] == "gateway; fwd=stale; stored"
        assert body["partial"] is False
        assert source(body, "clients") == source(first, "clients")
        assert titles(body) == ["签单"]

    async def test_a_rolled_back_write_signals_nothing(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        await create_task(api, people.agent, title="签单")
        cache = cache_of(stack)
        conn = await asyncpg.connect(stack.database_url)
        try:
            before = cache.generation("tasks")
            tx = conn.transaction()
            await tx.start()
            await conn.execute("UPDATE tasks.tasks SET title = title")
            await tx.rollback()
            await conn.execute("UPDATE tasks.tasks SET title = title WHERE false")  # matches no row
            await conn.execute("SELECT pg_notify($1, 'clients')", CHANNEL)  # a marker after them

            async def marker() -> bool:
                return cache.generation("clients") > 0

            await eventually(marker)
            assert cache.generation("tasks") == before
        finally:
            await conn.close()


class Asked:
    """Counts the gateway's calls for the clients service's part of an agenda, and how many were
    under way at once (the mesh is the gateway's transport to the services)."""

    def __init__(self, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.at_once = 0
        self.most_at_once = 0
        forward = stack.mesh.handle_async_request

        async def counted(request: httpx.Request) -> httpx.Response:
            if request.url.path != "/api/v1/clients/agenda-lists":
                return await forward(request)
            self.calls += 1
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
            try:
                return await forward(request)
            finally:
                self.at_once -= 1

        monkeypatch.setattr(stack.mesh, "handle_async_request", counted)


class TestABurst:
    """Many opening the app at once (8 a.m.): the services are not asked more than they can answer."""

    async def test_asks_for_an_agenda_being_built_wait_for_it(
        self, api: httpx.AsyncClient, stack: Stack, people: People, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await listening(stack)
        asked = Asked(stack, monkeypatch)

        with slow(stack, "clients", 0.3):  # the first build is still under way when the rest come
            answers = await asyncio.gather(*(agenda(api, people.agent) for _ in range(6)))

        assert asked.calls == 1
        statuses = sorted(answer.headers["cache-status"] for answer in answers)
        assert statuses == ["gateway; fwd=miss; collapsed"] * 5 + ["gateway; fwd=uri-miss; stored"]
        assert len({answer.content for answer in answers}) == 1
        assert answers[0].json()["partial"] is False

    async def test_no_more_agendas_are_built_at_once_than_allowed(
        self, api: httpx.AsyncClient, stack: Stack, people: People, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(cache_of(stack), "builds", asyncio.Semaphore(2))
        asked = Asked(stack, monkeypatch)

        with slow(stack, "clients", 0.1):
            answers = await asyncio.gather(
                *(agenda(api, people.agent, **{"Cache-Control": "no-cache"}) for _ in range(6))
            )

        assert asked.calls == 6
        assert asked.most_at_once == 2
        assert all(answer.json()["partial"] is False for answer in answers)

    async def test_the_setting_bounds_the_builds(self, stack: Stack) -> None:
        settings = stack.apps["gateway"].state.settings
        cache = cache_of(stack)
        holds = [cache.builds.acquire() for _ in range(settings.agenda_builds)]
        for hold in holds:
            await hold
        try:
            assert cache.builds.locked()
        finally:
            for _ in holds:
                cache.builds.release()


class TestNotKept:
    async def test_a_partial_agenda(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        await listening(stack)
        stack.mesh.down.add("claims.internal")
        partial = await agenda(api, people.agent)
        stack.mesh.down.clear()

        whole = await agenda(api, people.agent)

        assert partial.json()["partial"] is True
        assert partial.headers["cache-status"] == "gateway; fwd=uri-miss"
        assert whole.json()["partial"] is False
        assert whole.headers["cache-status"] == "gateway; fwd=stale; stored"

    async def test_while_the_listening_connection_is_lost(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await listening(stack)
        await agenda(api, people.agent)
        conn = await asyncpg.connect(stack.database_url)
        try:
            terminated = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()",
                APPLICATION_NAME,
            )
            assert len(terminated) == 1
        finally:
            await conn.close()

        async def lost() -> bool:
            return not cache_of(stack).listening

        await eventually(lost)
        bypassed = await agenda(api, people.agent)
        assert bypassed.headers["cache-status"] == "gateway; fwd=bypass"

        await listening(stack)  # back within a second or so: kept again
        assert (await agenda(api, people.agent)).headers["cache-status"] == "gateway; fwd=uri-miss; stored"


class TestEveryTableSignals:
    async def test_each_table_of_the_agendas_services_has_the_trigger(self, stack: Stack) -> None:
        """A new table without it would leave kept agendas stale: its migration must install it
        (``crmkit.change_signals.install``), or it must be named quiet here, with the reason."""
        rows = await stack.fetch(
            "SELECT t.table_schema, t.table_name,"
            " EXISTS (SELECT FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
            "   JOIN pg_namespace n ON n.oid = c.relnamespace"
            "   WHERE n.nspname = t.table_schema AND c.relname = t.table_name AND g.tgname = $2) AS signals"
            " FROM information_schema.tables t"
            " WHERE t.table_type = 'BASE TABLE' AND t.table_schema = ANY($1::text[])",
            list(SIGNALLING),
            TRIGGER,
        )
        assert {r["table_schema"] for r in rows} == set(SIGNALLING)
        wrong = [
            f"{r['table_schema']}.{r['table_name']} {'signals' if r['signals'] else 'is silent'}"
            for r in rows
            if r["signals"] is (r["table_name"] in SILENT_TABLES | QUIET.get(r["table_schema"], set()))
        ]
        assert wrong == []
