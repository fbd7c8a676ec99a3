"""Needs analysis (manual 二): existing cover, targets on the four walls, wealth goals, and the
coverage gaps — target minus existing, never negative, with documented defaults."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from tests.clients_support import (
    CLIENTS,
    assert_problem,
    audit_actions,
    count_rows,
    create_client,
    if_match,
)
from tests.conftest import People, Person, Stack
from tests.test_clients_household import add_member


async def save_needs(
    api: httpx.AsyncClient, person: Person, client_id: str, body: dict[str, Any], version: int = 0
) -> dict[str, Any]:
    response = await api.put(
        f"{CLIENTS}/{client_id}/needs-assessment", json=body, headers=if_match(person, version)
    )
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved


async def gaps(api: httpx.AsyncClient, person: Person, client_id: str) -> dict[str, dict[str, Any]]:
    response = await api.get(f"{CLIENTS}/{client_id}/coverage-gaps", headers=person.headers)
    assert response.status_code == 200, response.text
    return {wall["wall"]: wall for wall in response.json()["walls"]}


class TestCoverageGaps:
    async def test_defaults_from_income_liabilities_and_spending(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent, occupation_class=3)
        await api.put(
            f"{CLIENTS}/{client['id']}/household",
            json={"mortgage_balance": "1000000", "other_liabilities": "50000", "monthly_expenses": "10000"},
            headers=if_match(people.agent, 0),
        )
        await save_needs(
            api,
            people.agent,
            client["id"],
            {
                "client_annual_income": "200000",
                "existing_policies": [
                    {"insurer": "平安", "category": "critical_illness", "sum_insured": "300000"},
                    {"insurer": "太平洋", "category": "million_medical", "sum_insured": "2000000"},
                    {"insurer": "国寿", "category": "pension_annuity", "sum_insured": "500000"},
                ],
            },
        )

        walls = await gaps(api, people.agent, client["id"])

        assert walls["critical_illness"] == {
            "wall": "critical_illness",
            "target": "1000000.00",  # 5 x 200,000
            "target_basis": "default: 5 x the client's annual income",
            "existing": "300000.00",
            "gap": "700000.00",
        }
        assert walls["accident"]["target"] == "2000000.00"  # 10 x 200,000
        assert walls["accident"]["gap"] == "2000000.00"
        assert walls["medical"]["target"] == "1000000.00"
        assert walls["medical"]["existing"] == "2000000.00"
        assert walls["medical"]["gap"] == "0.00"  # never negative
        assert walls["death"]["target"] == "2250000.00"  # 1,050,000 + 10 x 120,000
        assert walls["death"]["existing"] == "0.00"  # annuities cover no wall

    async def test_the_agents_targets_win(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        await save_needs(
            api,
            people.agent,
            client["id"],
            {
                "client_annual_income": "100000",
                "targets": {"critical_illness": "500000", "death": "3000000"},
                "existing_policies": [{"insurer": "A", "category": "term_life", "sum_insured": "1000000.00"}],
            },
        )
        walls = await gaps(api, people.agent, client["id"])
        assert (walls["critical_illness"]["target"], walls["critical_illness"]["target_basis"]) == (
            "500000.00",
            "agent",
        )
        assert walls["death"]["gap"] == "2000000.00"

    async def test_without_any_data_only_the_medical_default_is_known(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.get(f"{CLIENTS}/{client['id']}/coverage-gaps", headers=people.agent.headers)
        body = response.json()
        walls = {w["wall"]: w for w in body["walls"]}
        assert [w["wall"] for w in body["walls"]] == ["critical_illness", "accident", "medical", "death"]
        assert walls["critical_illness"]["target"] is None
        assert walls["critical_illness"]["target_basis"].startswith("missing")
        assert walls["death"]["gap"] is None
        assert walls["medical"]["gap"] == "1000000.00"
        assert body["total_gap"] == "1000000.00"


class TestAssessment:
    async def test_saved_and_read_back_with_family_structure_and_risk(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, occupation="Driver", occupation_class=5)
        await add_member(api, people.agent, client["id"], relationship="spouse", name="Wife")
        await add_member(
            api, people.agent, client["id"], name="Kid", birth_date="2019-05-01", is_dependent=True
        )
        body = {
            "social_insurance": {"medical": True, "pension": True},
            "occupational_risk_note": "long-distance driving",
            "pension_goal": {"start_age": 60, "monthly_amount": "5000"},
        }

        saved = await save_needs(api, people.agent, client["id"], body)

        assert saved["version"] == 1
        assert saved["family_structure"]["spouse"] is True
        assert saved["family_structure"]["children"] == 1
        assert saved["family_structure"]["dependents"] == 1
        assert saved["occupational_risk"]["level"] == "high"
        assert saved["social_insurance"]["medical"] is True
        assert saved["social_insurance"]["work_injury"] is False
        assert saved["pension_goal"] == {"start_age": 60, "monthly_amount": "5000.00"}
        read = await api.get(f"{CLIENTS}/{client['id']}/needs-assessment", headers=people.agent.headers)
        assert read.json() == saved
        assert read.headers["etag"] == 'W/"1"'
        assert (await audit_actions(stack))[-1] == "needs_assessment.saved"

    async def test_an_education_goal_defaults_to_the_year_the_child_turns_18(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        kid = await add_member(api, people.agent, client["id"], name="Kid", birth_date="2019-05-01")
        saved = await save_needs(
            api,
            people.agent,
            client["id"],
            {"education_goals": [{"family_member_id": kid["id"], "amount": "300000"}]},
        )
        assert saved["education_goals"] == [
            {"family_member_id": kid["id"], "child_name": "Kid", "target_year": 2037, "amount": "300000.00"}
        ]

    async def test_a_new_assessment_reads_as_version_0(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        read = await api.get(f"{CLIENTS}/{client['id']}/needs-assessment", headers=people.agent.headers)
        assert read.status_code == 200
        assert read.json()["version"] == 0
        assert read.json()["existing_policies"] == []


class TestRejected:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param(
                {"targets": {"critical_illness": "-100"}}, "targets.critical_illness", id="negative-target"
            ),
            pytest.param({"targets": {"death": "a lot"}}, "targets.death", id="target-not-decimal"),
            pytest.param({"targets": {"accident": 100000.5}}, "targets.accident", id="target-float"),
            pytest.param({"targets": {"death": 3000000}}, "targets.death", id="target-json-integer"),
            pytest.param(
                {"existing_policies": [{"insurer": "A", "category": "term_life", "sum_insured": 1000000}]},
                "existing_policies.0.sum_insured",
                id="sum-insured-json-integer",
            ),
            pytest.param({"targets": {"wealth": "1"}}, "targets.wealth", id="fifth-wall"),
            pytest.param(
                {"existing_policies": [{"insurer": "A", "category": "spaceship", "sum_insured": "1"}]},
                "existing_policies.0.category",
                id="unknown-category",
            ),
            pytest.param(
                {"pension_goal": {"start_age": 30, "monthly_amount": "1"}}, "pension_goal.start_age", id="age"
            ),
        ],
    )
    async def test_bad_assessment_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.put(
            f"{CLIENTS}/{client['id']}/needs-assessment", json=body, headers=if_match(people.agent, 0)
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "needs_assessments") == 0

    async def test_an_education_target_year_in_the_past_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        kid = await add_member(api, people.agent, client["id"], name="Kid", birth_date="2019-05-01")
        goal = {"family_member_id": kid["id"], "target_year": date.today().year - 1, "amount": "100000"}
        response = await api.put(
            f"{CLIENTS}/{client['id']}/needs-assessment",
            json={"education_goals": [goal]},
            headers=if_match(people.agent, 0),
        )
        assert_problem(response, 422, field="education_goals.0.target_year")
        assert await count_rows(stack, "needs_assessments") == 0

    async def test_an_education_goal_for_someone_not_a_child_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        spouse = await add_member(api, people.agent, client["id"], relationship="spouse", name="Wife")
        response = await api.put(
            f"{CLIENTS}/{client['id']}/needs-assessment",
            json={"education_goals": [{"family_member_id": spouse["id"], "amount": "1"}]},
            headers=if_match(people.agent, 0),
        )
        assert_problem(response, 422, field="education_goals.0.family_member_id")
        assert await count_rows(stack, "needs_assessments") == 0

    async def test_a_grown_child_needs_an_explicit_year(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        grown = await add_member(api, people.agent, client["id"], name="Grown", birth_date="2000-01-01")
        response = await api.put(
            f"{CLIENTS}/{client['id']}/needs-assessment",
            json={"education_goals": [{"family_member_id": grown["id"], "amount": "1"}]},
            headers=if_match(people.agent, 0),
        )
        assert_problem(response, 422, field="education_goals.0.target_year")

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.colleague)
        base = f"{CLIENTS}/{client['id']}"
        for response in (
            await api.get(f"{base}/needs-assessment", headers=people.agent.headers),
            await api.put(f"{base}/needs-assessment", json={}, headers=if_match(people.agent, 0)),
            await api.get(f"{base}/coverage-gaps", headers=people.agent.headers),
        ):
            assert_problem(response, 404)
        assert await count_rows(stack, "needs_assessments") == 0
