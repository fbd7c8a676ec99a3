"""The changes feed for offline mobile sync: created/updated records and tombstones, in commit
order, scoped to the caller, with a cursor that loses nothing across an offline edit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from crmkit.events import Position, encode_position
from tests import claims_support as claims_support
from tests.clients_support import CLIENTS, assert_problem, create_client, if_match
from tests.conftest import People, Person, Stack
from tests.devices_support import create_device
from tests.test_events_outbox import SETTLE_SECONDS

BANK_ACCOUNT = claims_support.BANK_ACCOUNT


async def sync(
    api: httpx.AsyncClient, person: Person, service: str, *, since: str | None = None, limit: int = 100
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if since is not None:
        params["since"] = since
    response = await api.get(f"/api/v1/{service}/changes", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def past_the_horizon(stack: Stack) -> None:
    """Wait until every transaction begun so far has ended, on the whole server: the feed shows a
    change only then (other test runs may share the server and hold the horizon back)."""
    now = int((await stack.fetch("SELECT txid_current() AS t"))[0]["t"])
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        rows = await stack.fetch("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS x")
        if int(rows[0]["x"]) > now:
            return
        await asyncio.sleep(0.05)


async def sync_settled(
    api: httpx.AsyncClient, person: Person, service: str, *, at_least: int, since: str | None = None
) -> dict[str, Any]:
    """A sync once ``at_least`` changes are visible (an unrelated open transaction may delay them)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        page = await sync(api, person, service, since=since)
        if len(page["items"]) >= at_least or asyncio.get_running_loop().time() > deadline:
            return page
        await asyncio.sleep(0.05)


class TestOfflineEdit:
    async def test_a_phone_that_edits_offline_loses_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="Li Lei")
        first = await sync_settled(api, people.agent, "clients", at_least=1)
        assert [(c["op"], c["id"], c["data"]["version"]) for c in first["items"]] == [
            ("created", client["id"], 1)
        ]
        cursor = first["next_cursor"]

        # The phone goes offline; meanwhile the team lead changes the client at the office.
        office = await api.patch(
            f"{CLIENTS}/{client['id']}", json={"occupation": "engineer"}, headers=if_match(people.lead, 1)
        )
        assert office.status_code == 200, office.text

        # Back online, the phone sends its own edit against the version it has: refused, not lost.
        stale = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"notes": "prefers evening calls"},
            headers=if_match(people.agent, 1),
        )
        assert_problem(stale, 412)
        fresh = await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)
        retried = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"notes": "prefers evening calls"},
            headers={**people.agent.headers, "If-Match": fresh.headers["ETag"]},
        )
        assert retried.status_code == 200, retried.text

        await past_the_horizon(stack)
        second = await sync_settled(api, people.agent, "clients", since=cursor, at_least=1)
        assert len(second["items"]) == 1
        change = second["items"][0]
        assert (change["op"], change["id"]) == ("updated", client["id"])
        assert change["data"]["version"] == 3
        assert change["data"]["occupation"] == "engineer"
        assert change["data"]["notes"] == "prefers evening calls"
        assert second["has_more"] is False

        quiet = await sync(api, people.agent, "clients", since=second["next_cursor"])
        assert quiet["items"] == []
        assert quiet["next_cursor"] == second["next_cursor"]


class TestWhatTheFeedHolds:
    async def test_several_changes_collapse_to_the_latest_state(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        for version, notes in ((1, "one"), (2, "two")):
            response = await api.patch(
                f"{CLIENTS}/{client['id']}", json={"notes": notes}, headers=if_match(people.agent, version)
            )
            assert response.status_code == 200, response.text
        page = await sync_settled(api, people.agent, "clients", at_least=1)
        assert [(c["op"], c["data"]["notes"], c["data"]["version"]) for c in page["items"]] == [
            ("created", "two", 3)
        ]

    async def test_a_deleted_client_comes_back_as_a_tombstone(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        first = await sync_settled(api, people.agent, "clients", at_least=1)
        deleted = await api.delete(f"{CLIENTS}/{client['id']}", headers=if_match(people.agent, 1))
        assert deleted.status_code == 204, deleted.text
        page = await sync_settled(api, people.agent, "clients", since=first["next_cursor"], at_least=1)
        assert page["items"] == [{"op": "deleted", "type": "client", "id": client["id"], "data": None}]

    async def test_a_client_reassigned_away_is_dropped_from_the_old_owners_phone(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        first = await sync_settled(api, people.agent, "clients", at_least=1)
        moved = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"owner_agent_id": str(people.colleague.user_id)},
            headers=if_match(people.lead, 1),
        )
        assert moved.status_code == 200, moved.text
        old_owner = await sync_settled(api, people.agent, "clients", since=first["next_cursor"], at_least=1)
        assert old_owner["items"] == [{"op": "deleted", "type": "client", "id": client["id"], "data": None}]
        new_owner = await sync_settled(api, people.colleague, "clients", at_least=1)
        assert [(c["op"], c["id"], c["data"]["version"]) for c in new_owner["items"]] == [
            ("created", client["id"], 2)
        ]
        lead = await sync(api, people.lead, "clients", since=first["next_cursor"])
        assert [(c["op"], c["id"]) for c in lead["items"]] == [("updated", client["id"])]

    async def test_records_outside_the_callers_scope_are_skipped(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        mine = await create_client(api, people.agent)
        theirs = await create_client(api, people.outsider)
        await sync_settled(api, people.admin, "clients", at_least=2)
        agent = await sync(api, people.agent, "clients")
        outsider = await sync(api, people.outsider, "clients")
        lead = await sync(api, people.lead, "clients")
        assert [c["id"] for c in agent["items"]] == [mine["id"]]
        assert [c["id"] for c in outsider["items"]] == [theirs["id"]]
        assert [c["id"] for c in lead["items"]] == [mine["id"]]

    async def test_pages_follow_commit_order_and_say_when_more_wait(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        made = [(await create_client(api, people.agent, name=f"C{i}"))["id"] for i in range(3)]
        await sync_settled(api, people.agent, "clients", at_least=3)
        seen: list[str] = []
        cursor = None
        while True:
            page = await sync(api, people.agent, "clients", since=cursor, limit=2)
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert seen == made

    async def test_claims_policies_and_devices_have_feeds(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await claims_support.issue_policy(api, people, people.agent)
        claim = await claims_support.report_claim(api, people.agent, policy["id"])
        device = await create_device(api, people.ops, holder_id=str(people.agent.user_id))

        policies = await sync_settled(api, people.agent, "policies", at_least=2)
        types = {c["type"] for c in policies["items"]}
        assert types == {"application", "policy"}
        assert policy["id"] in [c["id"] for c in policies["items"]]

        claims = await sync_settled(api, people.agent, "claims", at_least=1)
        assert [(c["op"], c["id"]) for c in claims["items"]] == [("created", claim["id"])]
        assert BANK_ACCOUNT not in str(claims)

        devices = await sync_settled(api, people.agent, "devices", at_least=1)
        assert [(c["op"], c["type"], c["id"]) for c in devices["items"]] == [
            ("created", "device", device["id"])
        ]
        assert await sync(api, people.outsider, "claims") == {
            "items": [],
            "next_cursor": claims["next_cursor"],
            "has_more": False,
        }


class TestBadCursor:
    async def test_a_malformed_cursor_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_client(api, people.agent)
        before = await stack.fetch("SELECT count(*) AS n FROM clients.audit_log")
        for cursor in ("not-a-cursor", encode_position(Position(1, 1))[:-3], "W10", "WyJlMSIsLTEsMV0"):
            response = await api.get(
                f"{CLIENTS}/changes", params={"since": cursor}, headers=people.agent.headers
            )
            problem = assert_problem(response, 422, field="since")
            assert "cursor" in problem["detail"]
        assert await stack.fetch("SELECT count(*) AS n FROM clients.audit_log") == before

    async def test_a_cursor_from_the_future_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        future = encode_position(Position(txid=2**62, id=1))
        before = await stack.fetch("SELECT count(*) AS n FROM clients.audit_log")
        response = await api.get(f"{CLIENTS}/changes", params={"since": future}, headers=people.agent.headers)
        problem = assert_problem(response, 422, field="since")
        assert "future" in problem["detail"]
        assert await stack.fetch("SELECT count(*) AS n FROM clients.audit_log") == before

    async def test_an_api_key_without_the_read_scope_is_refused(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        created = await api.post(
            "/api/v1/api-keys",
            json={"name": "sync", "user_id": str(people.agent.user_id), "scopes": ["devices:read"]},
            headers=people.admin.headers,
        )
        assert created.status_code == 201, created.text
        response = await api.get(f"{CLIENTS}/changes", headers={"X-API-Key": created.json()["key"]})
        assert_problem(response, 403)
