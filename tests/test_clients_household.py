"""The household: family members (who decides), and income, liabilities and spending."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

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

BUSINESS_TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def add_member(api: httpx.AsyncClient, person: Person, client_id: str, **body: Any) -> dict[str, Any]:
    body = {"relationship": "child", "name": "Zhang Xiaoyu", **body}
    response = await api.post(f"{CLIENTS}/{client_id}/family-members", json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    member: dict[str, Any] = response.json()
    return member


class TestFamilyMembers:
    async def test_a_household_with_spouse_child_and_decision_maker(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="Zhang Wei")
        spouse = await add_member(
            api, people.agent, client["id"], relationship="spouse", name="Liu Yang", is_decision_maker=True
        )
        child = await add_member(
            api, people.agent, client["id"], name="Zhang Xiaoyu", birth_date="2018-06-01", is_dependent=True
        )

        response = await api.get(f"{CLIENTS}/{client['id']}/household", headers=people.agent.headers)

        assert response.status_code == 200, response.text
        household = response.json()
        assert [m["id"] for m in household["members"]] == [spouse["id"], child["id"]]
        assert household["decision_maker"] == "family_member"
        assert household["members"][0]["is_decision_maker"] is True
        assert household["members"][1]["age"] is not None
        assert household["members"][1]["age"] >= 7
        assert household["version"] == 0
        assert response.headers["etag"] == 'W/"0"'
        assert (await audit_actions(stack))[-2:] == ["family_member.added", "family_member.added"]

    async def test_a_family_member_may_be_a_client_too(self, api: httpx.AsyncClient, people: People) -> None:
        husband = await create_client(api, people.agent, name="Zhang Wei")
        wife = await create_client(api, people.agent, name="Liu Yang")
        member = await add_member(
            api,
            people.agent,
            husband["id"],
            relationship="spouse",
            name="Liu Yang",
            member_client_id=wife["id"],
        )
        assert member["member_client_id"] == wife["id"]

    async def test_edit_and_remove_with_if_match(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        member = await add_member(api, people.agent, client["id"])
        path = f"{CLIENTS}/{client['id']}/family-members/{member['id']}"

        edited = await api.patch(path, json={"is_dependent": True}, headers=if_match(people.agent, 1))
        assert edited.status_code == 200, edited.text
        assert edited.json()["is_dependent"] is True
        assert edited.json()["version"] == 2

        stale = await api.delete(path, headers=if_match(people.agent, 1))
        assert_problem(stale, 412)
        removed = await api.delete(path, headers=if_match(people.agent, 2))
        assert removed.status_code == 204
        assert await count_rows(stack, "family_members") == 0
        assert (await audit_actions(stack))[-1] == "family_member.removed"

    async def test_list_is_paged(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        for name in ("A", "B", "C"):
            await add_member(api, people.agent, client["id"], relationship="other", name=name)
        path = f"{CLIENTS}/{client['id']}/family-members"
        first = (await api.get(path, params={"limit": 2}, headers=people.agent.headers)).json()
        second = (
            await api.get(
                path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=people.agent.headers
            )
        ).json()
        assert [m["name"] for m in first["items"] + second["items"]] == ["C", "B", "A"]
        assert second["next_cursor"] is None

    async def test_a_newborn_of_today_in_the_business_time_zone_is_accepted(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        born = await add_member(api, people.agent, client["id"], birth_date=BUSINESS_TODAY.isoformat())
        assert (born["birth_date"], born["age"]) == (BUSINESS_TODAY.isoformat(), 0)


class TestRejectedFamilyMember:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param(
                {"birth_date": (date.today() + timedelta(days=2)).isoformat()}, "birth_date", id="born-later"
            ),
            pytest.param(
                {"birth_date": (BUSINESS_TODAY + timedelta(days=1)).isoformat()},
                "birth_date",
                id="born-tomorrow-in-the-business-time-zone",
            ),
            pytest.param({"relationship": "cousin"}, "relationship", id="unknown-relationship"),
            pytest.param({"name": ""}, "name", id="empty-name"),
            pytest.param({"version": 3}, "version", id="server-owned"),
            pytest.param({"annual_income": 150000}, "annual_income", id="income-as-json-integer"),
        ],
    )
    async def test_bad_member_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/family-members",
            json={"relationship": "child", "name": "Xiaoyu", **body},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "family_members") == 0
        assert await count_audit(stack) == audit_before

    async def test_a_second_decision_maker_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        first = await add_member(
            api, people.agent, client["id"], relationship="spouse", is_decision_maker=True
        )
        response = await api.post(
            f"{CLIENTS}/{client['id']}/family-members",
            json={"relationship": "parent", "name": "Grandpa", "is_decision_maker": True},
            headers=people.agent.headers,
        )
        problem = assert_problem(response, 409)
        assert problem["decision_maker_id"] == first["id"]
        assert await count_rows(stack, "family_members") == 1

    async def test_a_second_spouse_is_422(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        client = await create_client(api, people.agent)
        await add_member(api, people.agent, client["id"], relationship="spouse")
        response = await api.post(
            f"{CLIENTS}/{client['id']}/family-members",
            json={"relationship": "spouse", "name": "Another"},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="relationship")
        assert await count_rows(stack, "family_members") == 1

    async def test_another_agents_client_as_member_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        foreign = await create_client(api, people.outsider)
        response = await api.post(
            f"{CLIENTS}/{client['id']}/family-members",
            json={"relationship": "spouse", "name": "X", "member_client_id": foreign["id"]},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="member_client_id")
        assert await count_rows(stack, "family_members") == 0


FINANCES = {
    "annual_income": "360000",
    "mortgage_balance": "1200000.00",
    "mortgage_monthly_payment": "9000",
    "other_liabilities": "50000",
    "monthly_expenses": "15000",
    "annual_education_spending": "30000",
    "annual_elder_care_spending": "12000.5",
}


class TestMoneyOnTheWire:
    async def test_a_json_number_for_money_is_422_naming_the_field_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        audit_before = await count_audit(stack)
        response = await api.put(
            f"{CLIENTS}/{client['id']}/household",
            json={"annual_income": 300000, "monthly_expenses": "8000"},
            headers=if_match(people.agent, 0),
        )
        problem = assert_problem(response, 422, field="annual_income")
        [error] = [e for e in problem["errors"] if e["field"] == "annual_income"]
        assert "decimal string" in error["message"]
        assert await count_rows(stack, "households") == 0
        assert await count_rows(stack, "household_incomes") == 0
        assert await count_audit(stack) == audit_before

    async def test_money_goes_out_as_a_two_place_string(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        response = await api.put(
            f"{CLIENTS}/{client['id']}/household",
            json={"annual_income": "300000", "monthly_expenses": "8000.5"},
            headers=if_match(people.agent, 0),
        )
        assert response.status_code == 200, response.text
        assert (response.json()["annual_income"], response.json()["monthly_expenses"]) == (
            "300000.00",
            "8000.50",
        )


class TestFinances:
    async def test_first_save_with_if_match_zero_then_derived_totals(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        path = f"{CLIENTS}/{client['id']}/household"

        response = await api.put(path, json=FINANCES, headers=if_match(people.agent, 0))

        assert response.status_code == 200, response.text
        household = response.json()
        assert response.headers["etag"] == 'W/"1"'
        assert household["annual_income"] == "360000.00"
        assert household["annual_elder_care_spending"] == "12000.50"
        assert household["total_liabilities"] == "1250000.00"
        assert household["annual_spending"] == "222000.50"  # 15000 * 12 + 30000 + 12000.50
        assert household["mortgage_share_of_income"] == "0.30"
        assert (await audit_actions(stack))[-1] == "household.updated"

        again = await api.put(
            path, json={**FINANCES, "monthly_expenses": "16000"}, headers=if_match(people.agent, 1)
        )
        assert again.json()["version"] == 2
        assert again.json()["mortgage_balance"] == "1200000.00"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"annual_income": "-1"}, "annual_income", id="negative"),
            pytest.param({"annual_income": "lots"}, "annual_income", id="not-a-decimal"),
            pytest.param({"annual_income": 1000.5}, "annual_income", id="float"),
            pytest.param({"annual_income": 12345}, "annual_income", id="json-integer"),
            pytest.param({"annual_income": "10.123"}, "annual_income", id="three-places"),
            pytest.param({"salary": "1"}, "salary", id="unknown-field"),
        ],
    )
    async def test_bad_money_is_422_and_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, body: dict[str, Any], field: str
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.put(
            f"{CLIENTS}/{client['id']}/household", json=body, headers=if_match(people.agent, 0)
        )
        assert_problem(response, 422, field=field)
        assert await count_rows(stack, "households") == 0

    async def test_breadwinners_and_the_income_history(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)
        path = f"{CLIENTS}/{client['id']}/household"
        await add_member(
            api,
            people.agent,
            client["id"],
            relationship="spouse",
            is_breadwinner=True,
            annual_income="150000",
        )
        await api.put(
            path,
            json={"annual_income": "300000", "client_is_breadwinner": False},
            headers=if_match(people.agent, 0),
        )
        await api.put(
            path,
            json={"annual_income": "300000", "monthly_expenses": "8000"},
            headers=if_match(people.agent, 1),
        )
        raised = await api.put(path, json={"annual_income": "360000"}, headers=if_match(people.agent, 2))

        household = raised.json()
        assert household["client_is_breadwinner"] is True  # back to the default: the body replaces all
        assert household["members"][0]["is_breadwinner"] is True
        assert household["members"][0]["annual_income"] == "150000.00"
        assert [h["annual_income"] for h in household["income_history"]] == ["360000.00", "300000.00"]

    async def test_without_if_match_is_428_and_stale_is_412(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        path = f"{CLIENTS}/{client['id']}/household"
        assert_problem(await api.put(path, json=FINANCES, headers=people.agent.headers), 428)
        assert (await api.put(path, json=FINANCES, headers=if_match(people.agent, 0))).status_code == 200
        assert_problem(await api.put(path, json={}, headers=if_match(people.agent, 0)), 412)
        rows = await stack.fetch("SELECT annual_income, version FROM clients.households")
        assert [(str(r["annual_income"]), r["version"]) for r in rows] == [("360000.00", 1)]


class TestOtherAgentsClient:
    async def test_every_household_path_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.colleague)
        member = await add_member(api, people.colleague, client["id"])
        base = f"{CLIENTS}/{client['id']}"
        headers = if_match(people.agent, 1)
        for response in (
            await api.get(f"{base}/household", headers=headers),
            await api.put(f"{base}/household", json=FINANCES, headers=headers),
            await api.get(f"{base}/family-members", headers=headers),
            await api.post(
                f"{base}/family-members", json={"relationship": "child", "name": "X"}, headers=headers
            ),
            await api.get(f"{base}/family-members/{member['id']}", headers=headers),
            await api.patch(f"{base}/family-members/{member['id']}", json={"name": "Y"}, headers=headers),
            await api.delete(f"{base}/family-members/{member['id']}", headers=headers),
        ):
            assert_problem(response, 404)
        assert await count_rows(stack, "family_members") == 1
        assert await count_rows(stack, "households") == 0

    async def test_a_member_of_another_client_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        mine = await create_client(api, people.agent)
        other = await create_client(api, people.agent, name="Other")
        member = await add_member(api, people.agent, other["id"])
        response = await api.get(
            f"{CLIENTS}/{mine['id']}/family-members/{member['id']}", headers=people.agent.headers
        )
        assert_problem(response, 404)

    async def test_the_team_lead_sees_the_teams_households(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        await add_member(api, people.agent, client["id"])
        response = await api.get(f"{CLIENTS}/{client['id']}/household", headers=people.lead.headers)
        assert response.status_code == 200
        assert len(response.json()["members"]) == 1
