"""The agent's agenda through the gateway: every section, sorted, scoped, and its bad input."""

from __future__ import annotations

from datetime import timedelta

import httpx

from gateway.views.schemas import Agenda
from tests.conftest import People, Stack
from tests.policies_support import today
from tests.tasks_support import TASKS, create_task
from tests.views_support import AGENDA, AGENDA_SERVICES, assert_problem, seed_day

SECTIONS = (
    "appointments",
    "follow_ups",
    "birthdays_and_milestones",
    "requirements_due",
    "cooling_off_ending",
    "return_visits_pending",
    "premiums_due",
    "premiums_in_grace",
    "renewals_due",
    "lapsed_policies",
    "claim_updates_due",
    "claim_decisions_overdue",
    "device_checks_due",
    "maintenance_overdue",
)


class TestAgentsDay:
    async def test_every_section_has_its_entries_with_subject_and_path(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        day = await seed_day(api, stack, people, people.agent)

        response = await api.get(AGENDA, headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is False
        assert body["date"] == today().isoformat()
        assert body["agent_id"] == str(people.agent.user_id)
        assert sorted(s["service"] for s in body["sources"]) == sorted(AGENDA_SERVICES)
        assert all(s["status"] == "ok" and s["latency_ms"] >= 0 for s in body["sources"])
        for name in SECTIONS:
            assert body[name]["count"] == len(body[name]["items"]), name

        [appointment] = body["appointments"]["items"]
        assert appointment["kind"] == "appointment"
        assert appointment["subject"] == {
            "type": "client",
            "id": day.follow_up_client["id"],
            "display_name": "李娜",
        }
        assert appointment["path"] == (
            f"/api/v1/clients/{day.follow_up_client['id']}/interactions/{day.appointment['id']}"
        )
        assert appointment["due_at"] is not None

        [follow_up] = body["follow_ups"]["items"]
        assert follow_up["due_on"] == today().isoformat()
        assert follow_up["path"] == f"/api/v1/clients/{day.follow_up_client['id']}"

        birthday = next(e for e in body["birthdays_and_milestones"]["items"] if e["kind"] == "birthday")
        assert birthday["subject"]["id"] == day.birthday_client["id"]
        assert birthday["due_on"] == (today() + timedelta(days=3)).isoformat()

        [requirement] = body["requirements_due"]["items"]
        assert requirement["subject"]["type"] == "application"
        assert requirement["path"] == f"/api/v1/policies/applications/{day.application['id']}"
        assert requirement["due_on"] == (today() + timedelta(days=2)).isoformat()

        [cooling_off] = body["cooling_off_ending"]["items"]
        assert cooling_off["subject"]["id"] == day.cooling_off_policy["id"]
        assert cooling_off["due_on"] == (today() + timedelta(days=5)).isoformat()
        assert (
            body["return_visits_pending"]["items"][0]["path"]
            == f"/api/v1/policies/{day.cooling_off_policy['id']}"
        )

        [claim] = body["claim_updates_due"]["items"]
        assert claim["subject"]["type"] == "claim"
        assert claim["path"] == f"/api/v1/claims/{day.claim['id']}"

        [device] = body["device_checks_due"]["items"]
        assert device["subject"] == {
            "type": "device",
            "id": day.device["id"],
            "display_name": f"AGENDA-PC {day.device['model']}",
        }

    async def test_entries_are_sorted_by_due_time_and_identifiers_stay_masked(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.agent)

        body = (await api.get(AGENDA, headers=people.agent.headers)).json()

        for name in SECTIONS:
            days = [e["due_at"] or e["due_on"] for e in body[name]["items"]]
            assert [d[:10] for d in days] == sorted(d[:10] for d in days), name
        assert "resident_id" not in str(body)
        assert "bank_account" not in str(body)

    async def test_a_colleagues_work_is_not_on_my_agenda(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.colleague)

        body = (await api.get(AGENDA, headers=people.agent.headers)).json()

        # Devices are shared by office (location), so only the client-related sections are personal.
        personal = [name for name in SECTIONS if not name.startswith(("device", "maintenance"))]
        assert {name: body[name]["count"] for name in personal} == dict.fromkeys(personal, 0)

    async def test_another_date_moves_the_appointments(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.agent)

        tomorrow = (today() + timedelta(days=1)).isoformat()
        body = (await api.get(AGENDA, params={"date": tomorrow}, headers=people.agent.headers)).json()

        assert body["date"] == tomorrow
        assert body["appointments"]["count"] == 0


class TestTheBodyIsTheModels:
    """The agenda is written as plain JSON, not through its models: the bytes must be what the
    models would write (fields, their order, nulls, formats), i.e. a fixed point of ``Agenda``."""

    async def test_a_full_day_with_marks_and_a_timed_task(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.agent)
        # Late enough to be still ahead at any hour of the day the suite runs (a past due_at is
        # refused), with milliseconds to show their format.
        await create_task(
            api, people.agent, title="打电话给李娜", due_at=f"{today().isoformat()}T23:59:59.250+08:00"
        )
        await create_task(api, people.agent, title="整理今日拜访记录")
        first = (await api.get(AGENDA, headers=people.agent.headers)).json()
        for entry in (first["appointments"]["items"][0], first["tasks"]["items"][0]):
            mark = {
                "date": today().isoformat(),
                "kind": entry["kind"],
                "path": entry["path"],
                "state": "done",
            }
            answer = await api.put(f"{TASKS}/agenda-marks", json=mark, headers=people.agent.headers)
            assert answer.status_code == 200, answer.text

        response = await api.get(AGENDA, headers=people.agent.headers)

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["appointments"]["items"][0]["mark"] == "done"
        assert [e["due_at"] for e in body["tasks"]["items"]].count(None) == 1
        assert Agenda.model_validate_json(response.content).model_dump_json().encode() == response.content

    async def test_a_partial_day(self, api: httpx.AsyncClient, stack: Stack, people: People) -> None:
        await seed_day(api, stack, people, people.agent)
        stack.mesh.down.add("policies.internal")

        response = await api.get(AGENDA, headers=people.agent.headers)

        assert response.status_code == 200, response.text
        assert response.json()["premiums_due"] is None
        assert Agenda.model_validate_json(response.content).model_dump_json().encode() == response.content


class TestTeamLeadAsksForAnAgent:
    async def test_lead_sees_a_team_members_agenda(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        day = await seed_day(api, stack, people, people.agent)

        response = await api.get(
            AGENDA, params={"agent_id": str(people.agent.user_id)}, headers=people.lead.headers
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["agent_id"] == str(people.agent.user_id)
        assert body["partial"] is False
        assert body["appointments"]["items"][0]["subject"]["id"] == day.follow_up_client["id"]
        assert body["device_checks_due"]["items"][0]["subject"]["id"] == day.device["id"]

    async def test_only_that_agents_entries_not_the_whole_team(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.colleague)

        body = (
            await api.get(AGENDA, params={"agent_id": str(people.agent.user_id)}, headers=people.lead.headers)
        ).json()

        assert body["follow_ups"]["count"] == 0
        assert body["claim_updates_due"]["count"] == 0

    async def test_admin_may_ask_for_anyone(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.outsider)

        response = await api.get(
            AGENDA, params={"agent_id": str(people.outsider.user_id)}, headers=people.admin.headers
        )

        assert response.status_code == 200, response.text
        assert response.json()["follow_ups"]["count"] == 1


class TestBadInput:
    async def test_a_date_that_is_not_a_date_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(AGENDA, params={"date": "2026-02-30"}, headers=people.agent.headers)

        assert_problem(response, 422, field="query.date")

    async def test_a_date_more_than_a_year_away_is_422(self, api: httpx.AsyncClient, people: People) -> None:
        far = (today() + timedelta(days=400)).isoformat()

        problem = assert_problem(
            await api.get(AGENDA, params={"date": far}, headers=people.agent.headers), 422, field="query.date"
        )

        assert "366 days" in problem["detail"]

    async def test_an_agent_asking_for_another_agents_agenda_is_404(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.colleague)

        response = await api.get(
            AGENDA, params={"agent_id": str(people.colleague.user_id)}, headers=people.agent.headers
        )

        problem = assert_problem(response, 404)
        assert "李娜" not in str(problem)

    async def test_a_team_lead_asking_outside_the_team_is_404(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(
            AGENDA, params={"agent_id": str(people.outsider.user_id)}, headers=people.lead.headers
        )

        assert_problem(response, 404)

    async def test_an_unknown_agent_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            AGENDA, params={"agent_id": "00000000-0000-4000-8000-000000000000"}, headers=people.admin.headers
        )

        assert_problem(response, 404)

    async def test_an_agent_id_that_is_not_a_uuid_is_422(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(AGENDA, params={"agent_id": "bob"}, headers=people.lead.headers)

        assert_problem(response, 422, field="query.agent_id")

    async def test_operations_staff_have_no_agenda(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(AGENDA, headers=people.ops.headers), 403)

    async def test_no_token_is_401(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get(AGENDA), 401)


class TestApiKeys:
    async def test_a_key_sees_only_the_services_of_its_scopes(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        await seed_day(api, stack, people, people.agent)
        created = await api.post(
            "/api/v1/api-keys",
            json={"name": "Calendar sync", "user_id": str(people.agent.user_id), "scopes": ["clients:read"]},
            headers=people.admin.headers,
        )
        assert created.status_code == 201, created.text

        response = await api.get(AGENDA, headers={"X-API-Key": created.json()["key"]})

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["agent_id"] == str(people.agent.user_id)
        assert body["partial"] is True
        assert body["follow_ups"]["count"] == 1
        denied = {s["service"]: s["http_status"] for s in body["sources"] if s["status"] == "error"}
        assert denied == {"policies": 403, "claims": 403, "devices": 403, "tasks": 403}
        assert body["requirements_due"] is None

    async def test_an_unknown_key_is_401(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get(AGENDA, headers={"X-API-Key": "crm_nope_0000"}), 401)
