"""Festival and milestone greetings (issue 18 §4): real festival dates, the greeting list, and a
greeting sent (by a channel or by hand) recorded on the client's timeline."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from services.tasks.calendar import festivals_of
from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Stack
from tests.tasks_support import TASKS, count, give_consent

GREETINGS = f"{TASKS}/greetings"


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
