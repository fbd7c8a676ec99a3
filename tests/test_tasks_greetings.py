"""Festival and milestone greetings (issue 18 §4): real festival dates, the greeting list, and a
greeting sent (by a channel or by hand) recorded on the client's timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import pytest

from services.tasks.calendar import festivals_of
from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Stack
from tests.tasks_support import TASKS, ZONE, count, give_consent

GREETINGS = f"{TASKS}/greetings"
NOTIFICATIONS = f"{TASKS}/notifications"


@pytest.mark.parametrize(
    ("year", "spring", "mid_autumn"),
    [
        (2025, date(2025, 1, 29), date(2025, 10, 6)),
        (2026, date(2026, 2, 17), date(2026, 9, 25)),
        (2027, date(2027, 2, 6), date(2027, 9, 15)),
    ],
)
def test_festivals_fall_on_their_real_dates(year: int, spring: date, mid_autumn: date) -> None:
    found = {f.occasion.value: f.on for f in festivals_of(year)}
    assert found == {"spring_festival": spring, "mid_autumn": mid_autumn, "national_day": date(year, 10, 1)}


async def test_the_greeting_list_has_birthdays_and_festivals_of_the_week(
    api: httpx.AsyncClient, people: People
) -> None:
    mine = await create_client(api, people.agent, name="刘洋", birth_date="1980-09-27")
    await create_client(api, people.outsider, name="别人的客户", birth_date="1980-09-27")
    response = await api.get(
        GREETINGS, params={"date": "2026-09-24", "days": 7}, headers=people.agent.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(f["name"], f["on"]) for f in body["festivals"]] == [
        ("中秋节", "2026-09-25"),
        ("国庆节", "2026-10-01"),
    ]
    assert [(i["client_id"], i["occasion"], i["on"]) for i in body["items"]] == [
        (mine["id"], "birthday", "2026-09-27")
    ]


class TestRecord:
    async def test_a_wechat_greeting_is_sent_and_lands_on_the_timeline(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="刘洋")
        await give_consent(api, people.agent, client["id"], "marketing")
        response = await api.post(
            f"{GREETINGS}/{client['id']}",
            json={"occasion": "mid_autumn", "channel": "wechat"},
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        recorded = response.json()
        assert recorded["notification_id"]
        notification = (await stack.fetch("SELECT body FROM tasks.notifications"))[0]
        assert notification["body"].startswith("刘洋，值此中秋节之际")  # noqa: RUF001
        timeline = (
            await api.get(f"/api/v1/clients/{client['id']}/interactions", headers=people.agent.headers)
        ).json()
        assert [(i["id"], i["kind"], i["purpose"]) for i in timeline["items"]] == [
            (recorded["interaction_id"], "note", "中秋节问候")
        ]

    async def test_a_greeting_by_hand_is_recorded_only(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "marketing")
        response = await api.post(
            f"{GREETINGS}/{client['id']}",
            json={"occasion": "milestone", "milestone": "乔迁之喜", "channel": "by_hand", "note": "送了绿植"},
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["notification_id"] is None
        assert await count(stack, "notifications") == 0
        timeline = (
            await api.get(f"/api/v1/clients/{client['id']}/interactions", headers=people.agent.headers)
        ).json()
        assert [i["outcome"] for i in timeline["items"]] == ["亲自发送家庭喜事（乔迁之喜）问候：送了绿植"]  # noqa: RUF001

    async def test_without_marketing_consent_nothing_is_sent_nor_recorded(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        response = await api.post(
            f"{GREETINGS}/{client['id']}",
            json={"occasion": "birthday", "channel": "sms"},
            headers=people.agent.headers,
        )
        assert_problem(response, 409)
        assert await count(stack, "notifications") == 0
        timeline = (
            await api.get(f"/api/v1/clients/{client['id']}/interactions", headers=people.agent.headers)
        ).json()
        assert timeline["items"] == []

    async def test_another_agents_client_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        theirs = await create_client(api, people.outsider)
        response = await api.post(
            f"{GREETINGS}/{theirs['id']}",
            json={"occasion": "birthday", "channel": "by_hand"},
            headers=people.agent.headers,
        )
        assert_problem(response, 404)


async def test_each_morning_an_agent_gets_the_days_greeting_list_once(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    """From 08:00 business time, the agent whose client has a birthday today is reminded once, with
    the names (manual 五.3); someone else's client is not on their list."""
    morning = datetime.now(ZONE).replace(hour=8, minute=30, second=0, microsecond=0)
    born = morning.date().replace(year=1980).isoformat()
    await create_client(api, people.agent, name="刘洋", birth_date=born)
    await create_client(api, people.outsider, name="别人的客户", birth_date=born)
    worker = stack.apps["tasks"].state.worker

    await worker.run_once(now=morning.replace(hour=7), intake_events=False)
    assert await count(stack, "notifications") == 0

    await worker.run_once(now=morning, intake_events=False)
    await worker.run_once(now=morning + timedelta(hours=1), intake_events=False)
    feed = (await api.get(NOTIFICATIONS, headers=people.agent.headers)).json()["items"]
    assert [(n["subject"], n["link_path"]) for n in feed] == [("今日问候名单：1位客户", GREETINGS)]  # noqa: RUF001
    assert feed[0]["body"].startswith("今天刘洋（")  # noqa: RUF001
    assert "别人的客户" not in feed[0]["body"]
    assert await count(stack, "notifications") == 2  # one each for the agent and the outsider


async def test_a_greeting_by_hand_without_marketing_consent_is_refused_and_not_recorded(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await create_client(api, people.agent)
    response = await api.post(
        f"{GREETINGS}/{client['id']}",
        json={"occasion": "birthday", "channel": "by_hand"},
        headers=people.agent.headers,
    )
    problem = assert_problem(response, 409)
    assert (problem["type"], problem["missing_consent"]) == ("/problems/consent-required", "marketing")
    timeline = (
        await api.get(f"/api/v1/clients/{client['id']}/interactions", headers=people.agent.headers)
    ).json()
    assert timeline["items"] == []
    assert await count(stack, "notifications") == 0


@pytest.mark.parametrize("day", ["0829-05-01", "2100-01-01"])
async def test_a_day_outside_the_lunar_tables_is_refused(
    api: httpx.AsyncClient, people: People, day: str
) -> None:
    """Found by fuzzing: a year the lunar calendar does not cover answered 500."""
    problem = assert_problem(
        await api.get(GREETINGS, params={"date": day}, headers=people.agent.headers), 422
    )
    assert problem["errors"][0]["field"] == "query.date"
