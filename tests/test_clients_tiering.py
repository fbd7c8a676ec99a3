"""Tiering (manual 一.2): scores with evidence → A/B/C by the documented rule, overrides with a
reason, a history of every change, and lists with the A tier first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.clients.tiering.rules import compute_tier
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_actions,
    count_audit,
    count_rows,
    create_client,
    if_match,
)
from tests.conftest import People, Person, Stack


def scores(need: int, capacity: int, decision: int, **extra: Any) -> dict[str, Any]:
    return {"need_score": need, "capacity_score": capacity, "decision_score": decision, **extra}


async def assess(
    api: httpx.AsyncClient, person: Person, client_id: str, body: dict[str, Any], version: int = 0
) -> dict[str, Any]:
    response = await api.put(f"{CLIENTS}/{client_id}/tiering", json=body, headers=if_match(person, version))
    assert response.status_code == 200, response.text
    tiering: dict[str, Any] = response.json()
    return tiering


async def history(api: httpx.AsyncClient, person: Person, client_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"{CLIENTS}/{client_id}/tiering/history", headers=person.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestTheRule:
    @pytest.mark.parametrize(
        ("need", "capacity", "decision", "tier"),
        [
            (5, 5, 5, "A"),
            (4, 4, 3, "A"),
            (4, 4, 2, "B"),  # high need and means, but we talk to someone who does not decide
            (3, 3, 1, "B"),
            (5, 2, 5, "B"),  # pressing need on a tight budget
            (2, 5, 5, "B"),  # the means without the awareness
            (3, 2, 5, "C"),
            (2, 3, 5, "C"),
            (1, 1, 1, "C"),
        ],
    )
    def test_first_matching_row_wins(self, need: int, capacity: int, decision: int, tier: str) -> None:
        assert compute_tier(need, capacity, decision).tier == tier

    async def test_the_rule_is_published_as_data(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(f"{CLIENTS}/tiering/rules", headers=people.agent.headers)
        assert response.status_code == 200, response.text
        rules = response.json()
        assert rules[0] == {
            "tier": "A",
            "min_need": 4,
            "min_capacity": 4,
            "min_decision": 3,
            "meaning": rules[0]["meaning"],
        }
        assert rules[-1]["tier"] == "C"


class TestScoring:
    async def test_scores_give_a_tier_on_the_client_and_a_history_row(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)

        tiering = await assess(
            api,
            people.agent,
            client["id"],
            scores(5, 4, 4, life_events=["newborn", "new_mortgage"], need_evidence="baby born in March"),
        )

        assert tiering["computed_tier"] == "A"
        assert tiering["tier"] == "A"
        assert tiering["life_events"] == ["newborn", "new_mortgage"]
        assert tiering["computed_because"].startswith("high need and high capacity")
        assert tiering["version"] == 1
        shown = (await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)).json()
        assert shown["tier"] == "A"
        assert shown["version"] == client["version"]  # derived: the record's own version stays
        [change] = await history(api, people.agent, client["id"])
        assert (change["from_tier"], change["to_tier"], change["source"]) == (None, "A", "scores")
        assert change["scores"] == {"need_score": 5, "capacity_score": 4, "decision_score": 4}
        assert (await audit_actions(stack))[-1] == "tiering.assessed"

    async def test_rescoring_recomputes_and_only_a_change_of_tier_is_history(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(5, 5, 5))
        same = await assess(api, people.agent, client["id"], scores(4, 4, 4), version=1)
        lower = await assess(api, people.agent, client["id"], scores(2, 2, 2), version=2)

        assert same["tier"] == "A"
        assert lower["tier"] == "C"
        assert [(c["from_tier"], c["to_tier"]) for c in await history(api, people.agent, client["id"])] == [
            ("A", "C"),
            (None, "A"),
        ]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param(scores(0, 3, 3), "need_score", id="zero"),
            pytest.param(scores(3, 6, 3), "capacity_score", id="six"),
            pytest.param(scores(3, 3, "4"), "decision_score", id="string"),  # type: ignore[arg-type]
            pytest.param(scores(3, 3, 3.5), "decision_score", id="fraction"),  # type: ignore[arg-type]
            pytest.param({"need_score": 3, "capacity_score": 3}, "decision_score", id="missing"),
            pytest.param(scores(3, 3, 3, life_events=["lottery_win"]), "life_events.0", id="unknown-event"),
            pytest.param(scores(3, 3, 3, tier="A"), "tier", id="tier-is-server-owned"),
        ],
    )
    async def test_bad_scores_are_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)
        response = await api.put(
            f"{CLIENTS}/{client['id']}/tiering", json=body, headers=if_match(people.agent, 0)
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "tier_assessments") == 0
        assert await count_rows(stack, "tier_changes") == 0
        assert await count_audit(stack) == audit_before

    async def test_stale_if_match_is_412(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(5, 5, 5))
        response = await api.put(
            f"{CLIENTS}/{client['id']}/tiering", json=scores(1, 1, 1), headers=if_match(people.agent, 0)
        )
        assert_problem(response, 412)
        assert await count_rows(stack, "tier_changes") == 1


class TestOverride:
    async def test_override_wins_until_cleared(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(5, 5, 5))
        path = f"{CLIENTS}/{client['id']}/tiering/override"

        overridden = await api.put(
            path,
            json={"tier": "B", "reason": "husband decides, meeting him next week"},
            headers=if_match(people.agent, 1),
        )
        assert overridden.status_code == 200, overridden.text
        assert overridden.json()["tier"] == "B"
        assert overridden.json()["computed_tier"] == "A"
        rescored = await assess(api, people.agent, client["id"], scores(4, 4, 4), version=2)
        assert rescored["tier"] == "B"  # the override stands while scores change

        cleared = await api.delete(path, headers=if_match(people.agent, 3))
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["tier"] == "A"
        assert cleared.json()["override_reason"] is None
        changes = await history(api, people.agent, client["id"])
        assert [(c["to_tier"], c["source"], c["reason"]) for c in changes] == [
            ("A", "override_cleared", None),
            ("B", "override", "husband decides, meeting him next week"),
            ("A", "scores", None),
        ]
        assert "tiering.overridden" in await audit_actions(stack)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"tier": "A"}, "reason", id="no-reason"),
            pytest.param({"tier": "A", "reason": "  "}, "reason", id="blank-reason"),
            pytest.param({"tier": "D", "reason": "because"}, "tier", id="unknown-tier"),
        ],
    )
    async def test_bad_override_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.put(
            f"{CLIENTS}/{client['id']}/tiering/override", json=body, headers=if_match(people.agent, 0)
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "tier_assessments") == 0
        assert (await api.get(f"{CLIENTS}/{client['id']}", headers=people.agent.headers)).json()[
            "tier"
        ] is None

    async def test_clearing_when_there_is_no_override_is_404(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(5, 5, 5))
        response = await api.delete(
            f"{CLIENTS}/{client['id']}/tiering/override", headers=if_match(people.agent, 1)
        )
        assert_problem(response, 404)
        tiering = await api.get(f"{CLIENTS}/{client['id']}/tiering", headers=people.agent.headers)
        assert (tiering.json()["version"], tiering.json()["tier"]) == (1, "A")
        history = await api.get(f"{CLIENTS}/{client['id']}/tiering/history", headers=people.agent.headers)
        assert [entry["source"] for entry in history.json()["items"]] == ["scores"]


class TestByTier:
    async def test_list_sorted_by_tier_puts_a_first_across_pages(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        made = {}
        for name, tier_scores in (("c1", (1, 1, 1)), ("a1", (5, 5, 5)), ("b1", (3, 3, 3)), ("a2", (4, 4, 4))):
            made[name] = await create_client(api, people.agent, name=name)
            await assess(api, people.agent, made[name]["id"], scores(*tier_scores))
        await create_client(api, people.agent, name="unassessed")

        names: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": "tier", "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api.get(CLIENTS, params=params, headers=people.agent.headers)).json()
            names += [(item["tier"] or "-") + ":" + item["name"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert names == ["A:a2", "A:a1", "B:b1", "C:c1", "-:unassessed"]  # within a tier, newest first

    async def test_filter_by_tier(self, api: httpx.AsyncClient, people: People) -> None:
        top = await create_client(api, people.agent, name="top")
        await create_client(api, people.agent, name="other")
        await assess(api, people.agent, top["id"], scores(5, 5, 5))
        page = (await api.get(CLIENTS, params={"tier": "A"}, headers=people.agent.headers)).json()
        assert [item["name"] for item in page["items"]] == ["top"]


class TestScope:
    async def test_another_agents_client_is_404_everywhere(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.outsider)
        base = f"{CLIENTS}/{client['id']}/tiering"
        headers = if_match(people.agent, 0)
        for response in (
            await api.get(base, headers=headers),
            await api.put(base, json=scores(5, 5, 5), headers=headers),
            await api.put(f"{base}/override", json={"tier": "A", "reason": "sure"}, headers=headers),
            await api.delete(f"{base}/override", headers=headers),
            await api.get(f"{base}/history", headers=headers),
        ):
            assert_problem(response, 404)
        assert await count_rows(stack, "tier_assessments") == 0
