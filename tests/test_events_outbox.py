"""The audit log as event outbox: events in commit order, nothing for a rolled-back change, and a
cursor that never skips a transaction that commits after a later one."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx

from crmkit.events import AS_AUDITED, Position, encode_position
from services.clients.changes import PUBLICATION as CLIENTS_PUBLICATION
from services.devices.changes import PUBLICATION as DEVICES
from tests.clients_support import CLIENTS, assert_problem, create_client, if_match, resident_id
from tests.conftest import People, Person, Stack
from tests.devices_support import create_device, record_check

SETTLE_SECONDS = 15.0
"""Events wait behind any transaction still open on the server (other test runs share it)."""


async def read_events(
    api: httpx.AsyncClient, person: Person, service: str, *, after: str | None = None, limit: int = 100
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    response = await api.get(f"/api/v1/{service}/events", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def events_when_settled(
    api: httpx.AsyncClient, person: Person, service: str, *, at_least: int, after: str | None = None
) -> dict[str, Any]:
    """The stream once ``at_least`` events are visible (an unrelated open transaction may delay them)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        page = await read_events(api, person, service, after=after)
        if len(page["items"]) >= at_least or asyncio.get_running_loop().time() > deadline:
            return page
        await asyncio.sleep(0.05)


async def insert_audit_row(conn: asyncpg.Connection, *, action: str = "client.updated") -> int:
    """An audit row written the way ``crmkit.audit.record`` writes it, on a connection of our own."""
    row_id: int = await conn.fetchval(
        "INSERT INTO clients.audit_log (actor, actor_role, action, resource_type, resource_id)"
        " VALUES ('user:test', 'agent', $1, 'client', $2) RETURNING id",
        action,
        uuid.uuid4(),
    )
    return row_id


class TestEventStream:
    async def test_client_changes_become_masked_events_in_commit_order(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent, phone="13812345678", resident_id=resident_id())
        patched = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"occupation": "teacher"}, headers=if_match(people.agent, 1)
        )
        assert patched.status_code == 200, patched.text

        page = await events_when_settled(api, people.admin, "clients", at_least=2)

        mine = [e for e in page["items"] if e["resource"]["id"] == client["id"]]
        assert [e["type"] for e in mine] == ["client.created", "client.updated"]
        created = mine[0]
        assert created["id"].startswith("clients-")
        assert created["resource"]["type"] == "client"
        assert created["resource"]["data"]["phone"] == client["phone"] != "13812345678"
        assert "13812345678" not in str(page)
        assert resident_id() not in str(page)
        assert page["has_more"] is False
        assert page["next_cursor"]

    async def test_a_stale_change_emits_no_event(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        stale = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"occupation": "teacher"}, headers=if_match(people.agent, 7)
        )
        assert stale.status_code == 412
        page = await events_when_settled(api, people.admin, "clients", at_least=1)
        assert [e["type"] for e in page["items"]] == ["client.created"]

    async def test_a_rolled_back_transaction_emits_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        conn = await asyncpg.connect(stack.database_url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            await insert_audit_row(conn, action="client.created")
            await transaction.rollback()
        finally:
            await conn.close()
        client = await create_client(api, people.agent)
        page = await events_when_settled(api, people.admin, "clients", at_least=1)
        assert [e["resource"]["id"] for e in page["items"]] == [client["id"]]

    async def test_a_device_taken_out_of_service_is_its_own_event(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))
        await record_check(api, people.agent, device["id"], abnormal={"display": "flickers"})
        page = await events_when_settled(api, people.admin, "devices", at_least=4)
        types = [e["type"] for e in page["items"]]
        assert "device.out_of_service" in types
        assert types[0] == "device.created"

    async def test_a_tier_assessment_is_a_client_tier_change(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        assessed = await api.put(
            f"{CLIENTS}/{client['id']}/tiering",
            json={"need_score": 5, "capacity_score": 5, "decision_score": 5},
            headers=if_match(people.agent, 0),
        )
        assert assessed.status_code == 200, assessed.text
        page = await events_when_settled(api, people.admin, "clients", at_least=2)
        tiered = [e for e in page["items"] if e["type"] == "client.tier_changed"]
        assert [(e["resource"]["type"], e["resource"]["id"]) for e in tiered] == [("client", client["id"])]

    async def test_pages_walk_every_event_exactly_once(self, api: httpx.AsyncClient, people: People) -> None:
        made = [(await create_client(api, people.agent, name=f"Client {i}"))["id"] for i in range(5)]
        await events_when_settled(api, people.admin, "clients", at_least=5)
        seen: list[str] = []
        cursor = None
        while True:
            page = await read_events(api, people.admin, "clients", after=cursor, limit=2)
            seen += [e["resource"]["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert seen == made


class TestCommitOrderCursor:
    async def test_a_transaction_committing_after_a_later_one_is_not_skipped(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        early = await asyncpg.connect(stack.database_url)
        late = await asyncpg.connect(stack.database_url)
        try:
            opened_first = early.transaction()
            await opened_first.start()
            first_id = await insert_audit_row(early)  # opened first, commits last
            async with late.transaction():
                second_id = await insert_audit_row(late)
            assert second_id > first_id

            # The later transaction has committed, but it is held back behind the open one: a reader
            # that took it now (``id > n`` or ``occurred_at > t``) would move past ``first_id`` for good.
            held = await read_events(api, people.admin, "clients")
            assert held["items"] == []

            await opened_first.commit()
            page = await events_when_settled(api, people.admin, "clients", at_least=2)
            assert [int(e["id"].split("-")[1]) for e in page["items"]] == [first_id, second_id]

            again = await read_events(api, people.admin, "clients", after=page["next_cursor"])
            assert again["items"] == []
            assert again["next_cursor"] == page["next_cursor"]
        finally:
            await early.close()
            await late.close()

    async def test_the_horizon_reads_in_autocommit_sessions_too(self, stack: Stack) -> None:
        """The services read in autocommit: pg_current_snapshot() still answers a horizon there."""
        conn = await asyncpg.connect(stack.database_url)
        try:
            horizon = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())")
            assert int(horizon) > 0
        finally:
            await conn.close()


class TestWhoReadsTheStream:
    async def test_agents_and_ops_are_refused(self, api: httpx.AsyncClient, people: People) -> None:
        for person in (people.agent, people.lead, people.ops):
            response = await api.get("/api/v1/clients/events", headers=person.headers)
            assert_problem(response, 403)

    async def test_a_malformed_cursor_is_refused(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            "/api/v1/claims/events", params={"after": "bm9wZQ"}, headers=people.admin.headers
        )
        assert_problem(response, 422, field="after")

    async def test_a_cursor_from_the_future_is_refused(self, api: httpx.AsyncClient, people: People) -> None:
        future = encode_position(Position(txid=2**62, id=1))
        response = await api.get(
            "/api/v1/policies/events", params={"after": future}, headers=people.admin.headers
        )
        assert_problem(response, 422, field="after")


class TestEventTypes:
    def test_tiering_is_published_as_a_client_tier_change(self) -> None:
        assert CLIENTS_PUBLICATION.published_as("tiering", "tiering.overridden", {"tier": "A"}) == (
            "client",
            "client.tier_changed",
        )

    def test_a_device_status_change_names_the_new_status(self) -> None:
        assert DEVICES.published_as("device", "device.status_changed", {"status": "out_of_service"}) == (
            "device",
            "device.out_of_service",
        )
        assert DEVICES.published_as("device", "device.status_changed", {"status": "in_service"})[1] == (
            "device.returned_to_service"
        )

    def test_other_actions_are_published_as_audited(self) -> None:
        assert AS_AUDITED.published_as("claim", "claim.status_changed", None) == (
            "claim",
            "claim.status_changed",
        )
