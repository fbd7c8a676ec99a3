"""Action plans (issue 18 §2): started by the events the services publish, once per event; the
claim plan's weekly update repeats until the claim closes; administrators edit the templates."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests import claims_support, policies_support
from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Person, Stack
from tests.tasks_support import TASKS, count, today
from tests.test_clients_tiering import assess, scores

PLANS = f"{TASKS}/plans"
TEMPLATES = f"{TASKS}/plan-templates"


async def run_worker(stack: Stack) -> Any:
    return await stack.apps["tasks"].state.worker.run_once()


async def start_plans(stack: Stack, expected: int = 1) -> int:
    """Rounds until ``expected`` plans started (events wait behind transactions still open on the
    server, other test runs' included: docs/events-and-sync.md); how many started."""
    started = 0
    deadline = asyncio.get_running_loop().time() + 10
    while started < expected and asyncio.get_running_loop().time() < deadline:
        started += (await run_worker(stack)).plans_started
        if started < expected:
            await asyncio.sleep(0.05)
    return started


async def plan_tasks(api: httpx.AsyncClient, person: Person) -> list[dict[str, Any]]:
    response = await api.get(TASKS, params={"limit": 200}, headers=person.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [t for t in items if t["plan_id"]]


def days_after(start: date, task: dict[str, Any]) -> int:
    return (date.fromisoformat(task["due_on"]) - start).days


class TestAfterIssue:
    async def test_issuing_a_policy_starts_the_plan_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await policies_support.create_client(api, people.agent)
        policy = await policies_support.issue_policy(
            api, people.agent, client["id"], admin=people.admin, in_force=False
        )

        assert await start_plans(stack) == 1
        tasks = sorted(await plan_tasks(api, people.agent), key=lambda t: (t["due_on"], t["title"]))
        assert [(days_after(today(), t), t["title"]) for t in tasks] == [
            (0, "递送保单合同"),
            (3, "取得回执签收"),
            (5, "准备回访"),
            (365, "首次年度保单检视"),
        ]
        assert {t["link"]["id"] for t in tasks} == {policy["id"]}
        plans = (await api.get(PLANS, headers=people.agent.headers)).json()["items"]
        assert [(p["template_key"], p["status"], p["open_tasks"]) for p in plans] == [
            ("after_issue", "in_progress", 4)
        ]
        feed = (await api.get(f"{TASKS}/notifications", headers=people.agent.headers)).json()["items"]
        # the plan's announcement (and, from 08:00, the reminder of its day-0 step, due 09:00)
        assert "plan_started" in [n["template"] for n in feed]
        notified = await count(stack, "notifications")

        # the same events again: another round, and a cursor lost altogether
        assert (await run_worker(stack)).plans_started == 0
        await stack.fetch("DELETE FROM tasks.event_cursors")
        assert (await run_worker(stack)).plans_started == 0
        assert await count(stack, "action_plans") == 1
        assert await count(stack, "tasks") == 4
        assert await count(stack, "notifications") == notified

    async def test_the_plan_is_the_owners_and_hidden_from_others(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await policies_support.create_client(api, people.agent)
        await policies_support.issue_policy(
            api, people.agent, client["id"], admin=people.admin, in_force=False
        )
        assert await start_plans(stack) == 1
        assert (await api.get(PLANS, headers=people.outsider.headers)).json()["items"] == []
        assert len((await api.get(PLANS, headers=people.lead.headers)).json()["items"]) == 1


class TestAfterClaim:
    async def test_weekly_update_repeats_until_the_claim_closes(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await claims_support.issue_policy(api, people, people.agent)
        await start_plans(stack)  # the issue plan
        claim = await claims_support.report_claim(api, people.agent, policy["id"])
        assert await start_plans(stack) == 1
        tasks = [t for t in await plan_tasks(api, people.agent) if t["link"]["type"] == "claim"]
        assert sorted((days_after(today(), t), t["title"]) for t in tasks) == [
            (1, "理赔材料清单"),
            (7, "提交理赔申请"),
            (7, "每周向客户通报理赔进展"),
        ]
        weekly = next(t for t in tasks if t["title"] == "每周向客户通报理赔进展")
        done = await api.post(f"{TASKS}/{weekly['id']}/done", headers=people.agent.headers)
        assert done.status_code == 200, done.text
        again = [
            t
            for t in await plan_tasks(api, people.agent)
            if t["title"] == "每周向客户通报理赔进展" and t["status"] == "open"
        ]
        assert [days_after(today(), t) for t in again] == [7]

        await claims_support.moved(api, people.agent, claim, "withdrawn", reason="客户决定暂不理赔")
        deadline = asyncio.get_running_loop().time() + 10
        while await stack.fetch(
            "SELECT 1 FROM tasks.action_plans WHERE status = 'in_progress' AND subject_type = 'claim'"
        ):
            assert asyncio.get_running_loop().time() < deadline, "the claim's closing never arrived"
            await run_worker(stack)
        claim_tasks = [t for t in await plan_tasks(api, people.agent) if t["link"]["type"] == "claim"]
        assert {t["status"] for t in claim_tasks} == {"done", "cancelled"}
        plans = {
            p["template_key"]: p["status"]
            for p in (await api.get(PLANS, headers=people.agent.headers)).json()["items"]
        }
        assert plans == {"after_issue": "in_progress", "after_claim_reported": "completed"}


class TestNewATierClient:
    async def test_needs_analysis_within_seven_days(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(5, 5, 5))
        assert await start_plans(stack) == 1
        tasks = await plan_tasks(api, people.agent)
        assert [(t["title"], days_after(today(), t), t["link"]["id"]) for t in tasks] == [
            ("完成需求分析", 7, client["id"])
        ]

    async def test_a_b_tier_client_starts_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(2, 2, 2))
        # a later A-tier client: once its plan started, the earlier event was read too (commit order)
        later = await create_client(api, people.agent)
        await assess(api, people.agent, later["id"], scores(5, 5, 5))
        assert await start_plans(stack) == 1
        rows = await stack.fetch("SELECT subject_id FROM tasks.action_plans")
        assert [str(r["subject_id"]) for r in rows] == [later["id"]]


class TestTemplates:
    async def test_an_admin_edits_a_template_and_the_next_event_uses_it(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        listed = (await api.get(TEMPLATES, headers=people.agent.headers)).json()
        assert {t["key"]: t["customised"] for t in listed} == {
            "after_claim_reported": False,
            "after_issue": False,
            "new_a_tier_client": False,
        }
        body = {
            "name": "新A类客户",
            "trigger": "client.tier_changed",
            "steps": [
                {"offset_days": 2, "title": "电话预约需求分析", "priority": "high"},
                {"offset_days": 7, "title": "完成需求分析", "priority": "high"},
            ],
        }
        response = await api.put(f"{TEMPLATES}/new_a_tier_client", json=body, headers=people.admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["customised"] is True
        client = await create_client(api, people.agent)
        await assess(api, people.agent, client["id"], scores(5, 5, 5))
        await start_plans(stack)
        assert sorted(t["title"] for t in await plan_tasks(api, people.agent)) == [
            "完成需求分析",
            "电话预约需求分析",
        ]

    async def test_a_negative_offset_is_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = {"name": "x", "trigger": "policy.issued", "steps": [{"offset_days": -1, "title": "提前准备"}]}
        assert_problem(
            await api.put(f"{TEMPLATES}/after_issue", json=body, headers=people.admin.headers), 422
        )
        assert await count(stack, "plan_templates") == 0

    @pytest.mark.parametrize(
        "wrong",
        [
            {"is_active": 0},
            {"steps": [{"offset_days": True, "title": "x"}]},
            {"steps": [{"offset_days": "1", "title": "x"}]},
        ],
    )
    async def test_a_number_for_a_flag_or_a_flag_for_a_number_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, wrong: dict[str, object]
    ) -> None:
        """Found by fuzzing: `is_active: 0` was read as false (and `true` as day 1)."""
        body = {"name": "x", "trigger": "policy.issued", "steps": [{"offset_days": 1, "title": "x"}], **wrong}
        assert_problem(
            await api.put(f"{TEMPLATES}/after_issue", json=body, headers=people.admin.headers), 422
        )
        assert await count(stack, "plan_templates") == 0

    async def test_only_admins_edit_templates(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = {"name": "x", "trigger": "policy.issued", "steps": [{"offset_days": 1, "title": "x"}]}
        assert_problem(await api.put(f"{TEMPLATES}/after_issue", json=body, headers=people.lead.headers), 403)
        assert await count(stack, "plan_templates") == 0


__all__ = ["timedelta"]
