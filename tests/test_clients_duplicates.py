"""Duplicate clients: finding likely pairs, and merging one into the other."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.clients.duplicates import repository as duplicates_repository
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_rows,
    count_audit,
    create_client,
    if_match,
    resident_id,
)
from tests.conftest import People, Stack

DUPLICATES = f"{CLIENTS}/duplicates"


async def pairs(api: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await api.get(DUPLICATES, params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def pair_ids(items: list[dict[str, Any]]) -> list[tuple[set[str], list[str]]]:
    return [({p["client"]["id"], p["duplicate"]["id"]}, p["reasons"]) for p in items]


async def merge(
    api: httpx.AsyncClient, headers: dict[str, str], survivor: dict[str, Any], duplicate_id: str
) -> httpx.Response:
    return await api.post(
        f"{CLIENTS}/{survivor['id']}/merge",
        json={"duplicate_id": duplicate_id},
        headers={**headers, "If-Match": f'W/"{survivor["version"]}"'},
    )


async def snapshot(stack: Stack) -> list[Any]:
    """Everything a merge could touch, to prove a refused merge changed nothing."""
    clients = await stack.fetch(
        "SELECT id, version, deleted_at, merged_into_id, referred_by_client_id"
        " FROM clients.clients ORDER BY id"
    )
    members = await stack.fetch("SELECT id, client_id FROM clients.family_members ORDER BY id")
    interactions = await stack.fetch("SELECT id, client_id FROM clients.interactions ORDER BY id")
    return [[tuple(r) for r in rows] for rows in (clients, members, interactions)]


class TestFindingDuplicates:
    async def test_same_resident_id_same_phone_and_similar_name_are_found(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        rid = resident_id("19850612")
        a = await create_client(api, people.agent, name="Li Na", resident_id=rid)
        b = await create_client(api, people.agent, name="Li Na Two", resident_id=rid, phone="13812345678")
        c = await create_client(api, people.agent, name="Someone Else", phone="138 1234 5678")
        d = await create_client(api, people.agent, name="Zhang  Wei", birth_date="1990-01-02")
        full_width = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in "ZHANG WEI")
        e = await create_client(api, people.agent, name=full_width, birth_date="1990-01-02")
        f = await create_client(api, people.agent, name="张伟", birth_date="1979-05-05")
        g = await create_client(api, people.agent, name="张玮", birth_date="1979-05-05")
        await create_client(api, people.agent, name="张伟", birth_date="1979-05-06")  # other birthday
        await create_client(api, people.agent, name="Zhang Weiwei", birth_date="1990-01-02")  # 2 edits

        found = pair_ids(await pairs(api, people.agent.headers))

        assert sorted(found, key=lambda p: sorted(p[0])) == sorted(
            [
                ({a["id"], b["id"]}, ["same_resident_id"]),
                ({b["id"], c["id"]}, ["same_phone"]),
                ({d["id"], e["id"]}, ["similar_name_same_birth_date"]),
                ({f["id"], g["id"]}, ["similar_name_same_birth_date"]),
            ],
            key=lambda p: sorted(p[0]),
        )

    async def test_several_reasons_are_listed_together_and_identifiers_stay_masked(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        rid = resident_id("19850612")
        await create_client(api, people.agent, name="Li Na", resident_id=rid, phone="13812345678")
        await create_client(api, people.agent, name="li na", resident_id=rid, phone="13812345678")

        [pair] = await pairs(api, people.agent.headers)

        assert pair["reasons"] == ["same_phone", "same_resident_id", "similar_name_same_birth_date"]
        assert pair["client"]["resident_id"] == "110***********" + rid[-4:]
        assert "13812345678" not in str(pair)

    async def test_only_pairs_inside_the_callers_scope(self, api: httpx.AsyncClient, people: People) -> None:
        await create_client(api, people.agent, name="Li Na", phone="13812345678")
        await create_client(api, people.outsider, name="Li Na", phone="13812345678")
        await create_client(api, people.colleague, name="Li Na", phone="13812345678")

        assert await pairs(api, people.outsider.headers) == []
        assert await pairs(api, people.agent.headers) == []
        assert len(await pairs(api, people.lead.headers)) == 1
        assert len(await pairs(api, people.admin.headers)) == 3

    async def test_pages_follow_the_cursor(self, api: httpx.AsyncClient, people: People) -> None:
        for _ in range(3):
            await create_client(api, people.agent, name="Li Na", birth_date="1990-01-02")

        first = await api.get(DUPLICATES, params={"limit": 2}, headers=people.agent.headers)
        second = await api.get(
            DUPLICATES,
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=people.agent.headers,
        )

        assert len(first.json()["items"]) == 2
        assert len(second.json()["items"]) == 1
        assert second.json()["next_cursor"] is None
        seen = pair_ids(first.json()["items"] + second.json()["items"])
        assert len({frozenset(p[0]) for p in seen}) == 3

    async def test_an_edit_at_either_end_is_found_through_the_blocking_keys(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        born = "1979-05-05"
        base = await create_client(api, people.agent, name="张伟明", birth_date=born)
        first_changed = await create_client(api, people.agent, name="李伟明", birth_date="1979-05-06")
        shorter = await create_client(api, people.agent, name="张伟", birth_date="1979-05-07")
        longer_at_start = await create_client(api, people.agent, name="小伟明", birth_date="1979-05-08")
        for day in ("1979-05-06", "1979-05-07", "1979-05-08"):
            await create_client(api, people.agent, name="张伟明", birth_date=day)
        await create_client(api, people.agent, name="李伟华", birth_date=born)  # two letters apart
        # Two one-letter names share no blocking key: never called similar (documented).
        await create_client(api, people.agent, name="王", birth_date="1950-01-01")
        await create_client(api, people.agent, name="李", birth_date="1950-01-01")

        found = pair_ids(await pairs(api, people.agent.headers))

        assert len(found) == 3
        assert all(reasons == ["similar_name_same_birth_date"] for _, reasons in found)
        named = {frozenset(ids) for ids, _ in found}
        for other in (first_changed, shorter, longer_at_start):
            assert any(other["id"] in pair for pair in named)
        assert not any(base["id"] in pair for pair in named)

    async def test_a_page_scans_a_bounded_window_and_the_cursor_goes_on_from_it(
        self, api: httpx.AsyncClient, people: People, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for day in ("1990-01-02", "1991-02-03", "1992-03-04"):
            for _ in range(2):
                await create_client(api, people.agent, name="Li Na", birth_date=day)
        for _ in range(4):
            await create_client(api, people.agent, name=f"Alone {uuid.uuid4().hex[:6]}", birth_date=None)
        everything = pair_ids(await pairs(api, people.agent.headers))
        monkeypatch.setattr(duplicates_repository, "SCAN_WINDOW", 2)
        monkeypatch.setattr(duplicates_repository, "MAX_WINDOWS", 1)

        pages: list[dict[str, Any]] = []
        cursor = None
        while len(pages) < 20:
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            response = await api.get(DUPLICATES, params=params, headers=people.agent.headers)
            assert response.status_code == 200, response.text
            pages.append(response.json())
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break

        walked = pair_ids([item for page in pages for item in page["items"]])
        assert len(everything) == 3
        assert sorted(walked, key=lambda p: sorted(p[0])) == sorted(everything, key=lambda p: sorted(p[0]))
        assert len(pages) >= 5  # ten clients, two a page
        assert any(page["next_cursor"] and len(page["items"]) < 50 for page in pages)

    async def test_a_malformed_cursor_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            DUPLICATES, params={"cursor": "bm90IGEgY3Vyc29y"}, headers=people.agent.headers
        )

        assert_problem(response, 422, field="cursor")


class TestMerging:
    async def test_records_and_references_move_to_the_survivor(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        rid = resident_id("19850612")
        survivor = await create_client(api, people.agent, name="Li Na")
        duplicate = await create_client(
            api, people.agent, name="Li Na", resident_id=rid, phone="13812345678", occupation="teacher"
        )
        referred = await create_client(
            api, people.agent, name="Friend", channel="referral", referred_by_client_id=duplicate["id"]
        )
        member = await api.post(
            f"{CLIENTS}/{duplicate['id']}/family-members",
            json={"relationship": "child", "name": "Xiao Li"},
            headers=people.agent.headers,
        )
        assert member.status_code == 201
        follow_up = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
        call = await api.post(
            f"{CLIENTS}/{duplicate['id']}/interactions",
            json={
                "kind": "call",
                "at": datetime.now(UTC).isoformat(),
                "outcome": "ok",
                "next_follow_up_on": follow_up,
            },
            headers=people.agent.headers,
        )
        assert call.status_code == 201, call.text

        response = await merge(api, people.agent.headers, survivor, duplicate["id"])

        assert response.status_code == 200, response.text
        merged = response.json()
        assert response.headers["etag"] == f'W/"{merged["version"]}"'
        assert merged["resident_id"] == "110***********" + rid[-4:]
        assert merged["phone"] == "+86 138****5678"
        assert merged["occupation"] == "teacher"
        assert merged["birth_date"] == "1985-06-12"
        assert merged["next_follow_up_on"] == follow_up
        gone = await api.get(f"{CLIENTS}/{duplicate['id']}", headers=people.agent.headers)
        assert gone.status_code == 404
        [row] = await stack.fetch(
            "SELECT deleted_at, merged_into_id FROM clients.clients WHERE id = $1", uuid.UUID(duplicate["id"])
        )
        assert row["deleted_at"] is not None
        assert str(row["merged_into_id"]) == survivor["id"]
        members = await api.get(f"{CLIENTS}/{survivor['id']}/family-members", headers=people.agent.headers)
        assert [m["name"] for m in members.json()["items"]] == ["Xiao Li"]
        interactions = await api.get(f"{CLIENTS}/{survivor['id']}/interactions", headers=people.agent.headers)
        assert len(interactions.json()["items"]) == 1
        consents = await stack.fetch(
            "SELECT count(*) AS n FROM clients.consents WHERE client_id = $1", uuid.UUID(survivor["id"])
        )
        assert consents[0]["n"] == 1
        friend = await api.get(f"{CLIENTS}/{referred['id']}", headers=people.agent.headers)
        assert friend.json()["referred_by_client_id"] == survivor["id"]
        # the identifier is now found on the survivor
        search = await api.get(CLIENTS, params={"resident_id": rid}, headers=people.agent.headers)
        assert [c["id"] for c in search.json()["items"]] == [survivor["id"]]

    async def test_the_merge_is_audited_naming_both_clients(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        survivor = await create_client(api, people.agent, name="Li Na")
        duplicate = await create_client(api, people.agent, name="Li Na", occupation="teacher")

        assert (await merge(api, people.agent.headers, survivor, duplicate["id"])).status_code == 200

        merged = [r for r in await audit_rows(stack, survivor["id"]) if r["action"] == "client.merged"]
        assert len(merged) == 1
        assert merged[0]["after"]["survivor_id"] == survivor["id"]
        assert merged[0]["after"]["merged_client_id"] == duplicate["id"]
        assert merged[0]["after"]["occupation"] == "teacher"
        assert merged[0]["actor"] == f"user:{people.agent.user_id}"
        deleted = [r for r in await audit_rows(stack, duplicate["id"]) if r["action"] == "client.deleted"]
        assert deleted[0]["after"] == {"merged_into_id": survivor["id"]}

    async def test_the_survivors_own_values_win(self, api: httpx.AsyncClient, people: People) -> None:
        survivor = await create_client(
            api, people.agent, name="Li Na", phone="13900001111", occupation="nurse"
        )
        duplicate = await create_client(
            api, people.agent, name="Li Na", phone="13812345678", occupation="teacher"
        )

        merged = (await merge(api, people.agent.headers, survivor, duplicate["id"])).json()

        assert merged["occupation"] == "nurse"
        assert merged["phone"] == "+86 139****1111"
        assert merged["name"] == "Li Na"

    async def test_a_stale_if_match_is_412_and_nothing_changes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        survivor = await create_client(api, people.agent, name="Li Na")
        duplicate = await create_client(api, people.agent, name="Li Na")
        before = await snapshot(stack)

        response = await api.post(
            f"{CLIENTS}/{survivor['id']}/merge",
            json={"duplicate_id": duplicate["id"]},
            headers=if_match(people.agent, 7),
        )

        assert_problem(response, 412)
        assert await snapshot(stack) == before


class TestConcurrentMerges:
    async def test_merging_a_pair_both_ways_at_once_merges_once_and_never_fails(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        first = await create_client(api, people.agent, name="Li Na")
        second = await create_client(api, people.agent, name="Li Na")

        answers = await asyncio.gather(
            merge(api, people.agent.headers, first, second["id"]),
            merge(api, people.agent.headers, second, first["id"]),
        )

        # Whoever reaches the database second finds the pair gone (404) or still held (409: retry);
        # when both hold their survivor before asking for the other, both are told to retry.
        statuses = sorted(r.status_code for r in answers)
        assert statuses in ([200, 404], [200, 409], [409, 409]), [r.text for r in answers]
        rows = await stack.fetch(
            "SELECT count(*) AS n FROM clients.clients WHERE deleted_at IS NULL AND id = ANY($1::uuid[])",
            [uuid.UUID(first["id"]), uuid.UUID(second["id"])],
        )
        assert rows[0]["n"] == (1 if 200 in statuses else 2)


class TestRefusedMerges:
    async def test_merging_a_client_with_itself_is_422_and_changes_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="Li Na")
        before, audited = await snapshot(stack), await count_audit(stack)

        response = await merge(api, people.agent.headers, client, client["id"])

        problem = assert_problem(response, 422, field="duplicate_id")
        assert "itself" in problem["detail"]
        assert await snapshot(stack) == before
        assert await count_audit(stack) == audited

    async def test_merging_another_agents_client_is_404_and_changes_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        mine = await create_client(api, people.agent, name="Li Na")
        theirs = await create_client(api, people.outsider, name="Li Na")
        before, audited = await snapshot(stack), await count_audit(stack)

        into_mine = await merge(api, people.agent.headers, mine, theirs["id"])
        into_theirs = await merge(api, people.agent.headers, theirs, mine["id"])

        assert assert_problem(into_mine, 404)["detail"] == "no such client"
        assert_problem(into_theirs, 404)
        assert await snapshot(stack) == before
        assert await count_audit(stack) == audited

    async def test_merging_an_unknown_or_already_merged_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        survivor = await create_client(api, people.agent, name="Li Na")
        duplicate = await create_client(api, people.agent, name="Li Na")
        first = await merge(api, people.agent.headers, survivor, duplicate["id"])
        assert first.status_code == 200
        before = await snapshot(stack)

        again = await merge(api, people.agent.headers, first.json(), duplicate["id"])
        unknown = await merge(api, people.agent.headers, first.json(), str(uuid.uuid4()))

        assert_problem(again, 404)
        assert_problem(unknown, 404)
        assert await snapshot(stack) == before

    async def test_an_unknown_field_in_the_body_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent, name="Li Na")

        response = await api.post(
            f"{CLIENTS}/{client['id']}/merge",
            json={"duplicate_id": str(uuid.uuid4()), "version": 3},
            headers=if_match(people.agent, 1),
        )

        assert_problem(response, 422, field="version")
