"""Tasks (issue 18 §1): create, assign, work, see in the agenda; every bad input refused."""

from __future__ import annotations

import uuid

import httpx

from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Stack
from tests.tasks_support import TASKS, count, create_task, in_hours, today


class TestCreate:
    async def test_an_agent_creates_a_task_linked_to_their_client(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.post(
            TASKS,
            json={
                "title": "确认体检时间",
                "due_at": in_hours(3),
                "priority": "high",
                "link": {"type": "client", "id": client["id"]},
            },
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        task = response.json()
        assert response.headers["location"] == f"{TASKS}/{task['id']}"
        assert task["owner_agent_id"] == str(people.agent.user_id)
        assert task["team_id"] == str(people.north_team_id)
        assert task["status"] == "open"
        assert task["link"] == {"type": "client", "id": client["id"]}
        rows = await stack.fetch("SELECT action FROM tasks.audit_log")
        assert [r["action"] for r in rows] == ["task.created"]

    async def test_a_team_lead_assigns_within_the_team(self, api: httpx.AsyncClient, people: People) -> None:
        task = await create_task(api, people.lead, owner_agent_id=str(people.agent.user_id))
        assert task["owner_agent_id"] == str(people.agent.user_id)
        assert task["created_by"] == str(people.lead.user_id)
        # the agent sees it; a colleague does not
        assert (await api.get(f"{TASKS}/{task['id']}", headers=people.agent.headers)).status_code == 200
        assert (await api.get(f"{TASKS}/{task['id']}", headers=people.colleague.headers)).status_code == 404


class TestBadInput:
    async def test_due_in_the_past(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        response = await api.post(
            TASKS, json={"title": "x", "due_at": in_hours(-1)}, headers=people.agent.headers
        )
        assert_problem(response, 422, field="due_at")
        yesterday = today().toordinal() - 1
        from datetime import date

        response = await api.post(
            TASKS,
            json={"title": "x", "due_on": date.fromordinal(yesterday).isoformat()},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="due_on")
        assert await count(stack, "tasks") == 0

    async def test_linked_to_a_record_the_caller_cannot_see(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        theirs = await create_client(api, people.outsider)
        for link in (
            {"type": "client", "id": theirs["id"]},
            {"type": "policy", "id": str(uuid.uuid4())},
            {"type": "claim", "id": str(uuid.uuid4())},
            {"type": "application", "id": str(uuid.uuid4())},
        ):
            response = await api.post(
                TASKS,
                json={"title": "x", "due_on": today().isoformat(), "link": link},
                headers=people.agent.headers,
            )
            assert_problem(response, 404)
        assert await count(stack, "tasks") == 0

    async def test_an_agent_assigning_to_another_agent(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(
            TASKS,
            json={
                "title": "x",
                "due_on": today().isoformat(),
                "owner_agent_id": str(people.colleague.user_id),
            },
            headers=people.agent.headers,
        )
        assert_problem(response, 403, field="owner_agent_id")
        # a team lead outside their team
        response = await api.post(
            TASKS,
            json={
                "title": "x",
                "due_on": today().isoformat(),
                "owner_agent_id": str(people.outsider.user_id),
            },
            headers=people.lead.headers,
        )
        assert_problem(response, 403, field="owner_agent_id")
        assert await count(stack, "tasks") == 0

    async def test_neither_or_both_due_fields(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        assert_problem(await api.post(TASKS, json={"title": "x"}, headers=people.agent.headers), 422)
        both = {"title": "x", "due_on": today().isoformat(), "due_at": in_hours(2)}
        assert_problem(await api.post(TASKS, json=both, headers=people.agent.headers), 422)
        assert await count(stack, "tasks") == 0


class TestWork:
    async def test_done_then_no_way_back(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        task = await create_task(api, people.agent)
        done = await api.post(f"{TASKS}/{task['id']}/done", headers=people.agent.headers)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "done"
        again = await api.post(f"{TASKS}/{task['id']}/cancel", headers=people.agent.headers)
        body = assert_problem(again, 409)
        assert body["current_state"] == "done"
        assert body["allowed_next_states"] == []
        rows = await stack.fetch("SELECT status FROM tasks.tasks")
        assert [r["status"] for r in rows] == ["done"]


class TestAgenda:
    async def test_tasks_are_a_section_and_marks_are_remembered_for_the_day(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        task = await create_task(api, people.agent, title="整理今日拜访记录")
        await create_task(api, people.agent, title="下周的事", due_on=date_in(10))
        agenda = await api.get("/api/v1/agenda", headers=people.agent.headers)
        assert agenda.status_code == 200, agenda.text
        section = agenda.json()["tasks"]
        assert [e["subject"]["display_name"] for e in section["items"]] == ["整理今日拜访记录"]
        entry = section["items"][0]
        assert entry["path"] == f"{TASKS}/{task['id']}"
        assert entry["mark"] is None

        mark = await api.put(
            f"{TASKS}/agenda-marks",
            json={
                "date": today().isoformat(),
                "kind": entry["kind"],
                "path": entry["path"],
                "state": "snoozed",
            },
            headers=people.agent.headers,
        )
        assert mark.status_code == 200, mark.text
        agenda = (await api.get("/api/v1/agenda", headers=people.agent.headers)).json()
        assert agenda["tasks"]["items"][0]["mark"] == "snoozed"
        tomorrow = (
            await api.get("/api/v1/agenda", params={"date": date_in(1)}, headers=people.agent.headers)
        ).json()
        assert all(e["mark"] is None for e in tomorrow["tasks"]["items"])


def date_in(days: int) -> str:
    from datetime import timedelta

    return (today() + timedelta(days=days)).isoformat()
