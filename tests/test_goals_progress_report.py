"""The business report's per-agent rows and the agent's written progress note (issue 19 item 4;
procedure 三.11: report progress to superiors regularly, with lessons learned)."""

from __future__ import annotations

import csv
import io
from datetime import date

import httpx

from tests.clients_support import assert_problem
from tests.conftest import People, Stack
from tests.performance_support import PERFORMANCE, effective_client, set_goal, sync, today

NOTES = f"{PERFORMANCE}/progress-notes"
REPORT = "/api/v1/reports/business"


def period() -> dict[str, str]:
    return {"from": today().replace(day=1).isoformat(), "to": today().isoformat()}


def note(**overrides: str) -> dict[str, str]:
    return {
        **period(),
        "progress": "2 effective clients; the health talk brought a referral.",
        "lessons_learned": "Book the follow-up at the event itself.",
        **overrides,
    }


class TestProgressNotes:
    async def test_written_then_rewritten_for_the_same_period(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        first = await api.put(NOTES, json=note(), headers=people.agent.headers)
        assert first.status_code == 201, first.text
        again = await api.put(NOTES, json=note(progress="3 effective clients."), headers=people.agent.headers)
        assert again.status_code == 200, again.text
        assert again.json()["version"] == 2
        rows = await stack.fetch("SELECT progress FROM performance.progress_notes")
        assert [r["progress"] for r in rows] == ["3 effective clients."]

    async def test_a_reversed_period_or_an_empty_note_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        reversed_period = note(**{"from": "2026-11-30", "to": "2026-11-01"})
        assert_problem(await api.put(NOTES, json=reversed_period, headers=people.agent.headers), 422)
        assert_problem(
            await api.put(NOTES, json=note(progress="  "), headers=people.agent.headers),
            422,
            field="progress",
        )
        assert await stack.fetch("SELECT 1 FROM performance.progress_notes") == []


class TestPerAgentRows:
    async def test_the_team_leads_report_has_a_row_per_agent_with_goal_and_note(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        month = today()
        await set_goal(
            api,
            people.lead,
            agent_id=str(people.agent.user_id),
            year=month.year,
            month=month.month,
            effective_clients=2,
        )
        await effective_client(api, people.agent)
        await effective_client(api, people.colleague)
        await effective_client(api, people.outsider)
        await sync(stack)
        assert (await api.put(NOTES, json=note(), headers=people.agent.headers)).status_code == 201

        response = await api.get(REPORT, params=period(), headers=people.lead.headers)
        assert response.status_code == 200, response.text
        part = response.json()["performance"]
        rows = {r["agent_id"]: r for r in part["agents"]}
        assert set(rows) == {str(people.agent.user_id), str(people.colleague.user_id)}
        mine = rows[str(people.agent.user_id)]
        assert mine["actual"]["effective_clients"] == 1
        assert mine["goal"]["effective_clients"] == 2
        assert mine["progress_note"]["lessons_learned"] == "Book the follow-up at the event itself."
        assert rows[str(people.colleague.user_id)]["progress_note"] is None
        assert response.json()["clients"] is not None  # the team totals are still there

        as_csv = await api.get(REPORT, params=period(), headers={**people.lead.headers, "Accept": "text/csv"})
        assert as_csv.status_code == 200, as_csv.text
        lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
        assert ["agents", "actual_effective_clients", str(people.agent.user_id), "1"] in lines
        assert ["agents", "goal_effective_clients", str(people.agent.user_id), "2"] in lines
        assert any(line[:3] == ["agents", "progress", str(people.agent.user_id)] for line in lines)

    async def test_a_note_for_another_period_is_not_in_this_report(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        other = note(**{"from": date(2026, 1, 1).isoformat(), "to": date(2026, 1, 31).isoformat()})
        assert (await api.put(NOTES, json=other, headers=people.agent.headers)).status_code == 201
        part = (
            await api.get(f"{PERFORMANCE}/reports/business", params=period(), headers=people.agent.headers)
        ).json()
        assert part["agents"] == []  # an agent with nothing counted and no note for the period has no row
