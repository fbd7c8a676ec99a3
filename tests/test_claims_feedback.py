# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Weekly client feedback, the timeline, and the agenda's work lists: updates due (business time
zone), insurer decisions overdue, documents missing for more than N days."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tests.claims_support import (
    CLAIMS,
    ZONE,
    age_last_update,
    assert_problem,
    counts,
    days_ago,
    issue_policy,
    moved,
    receive_all,
    report_claim,
    stored,
    submitted_claim,
    today,
)
from tests.conftest import People, Person, Stack


@pytest.fixture
async def policy(api: httpx.AsyncClient, people: People) -> dict[str, Any]:
    return await issue_policy(api, people, people.agent)


async def work_list(api: httpx.AsyncClient, person: Person, name: str, **params: Any) -> list[str]:
    response = await api.get(f"{CLAIMS}/{name}", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


class TestClientUpdates:
    async def test_recording_an_update_resets_the_weekly_clock(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        await age_last_update(stack, claim["id"], local(days_ago(9), 10))

        response = await api.post(
            f"{CLAIMS}/{claim['id']}/client-updates",
            json={"channel": "wechat", "summary": "资料已提交保险公司，预计两周内审核完毕"},
            headers=people.agent.headers,
        )

        assert response.status_code == 201, response.text
        assert response.json()["kind"] == "client_update"
        claim = (await api.get(f"{CLAIMS}/{claim['id']}", headers=people.agent.headers)).json()
        assert claim["client_update_due_on"] == (today() + timedelta(days=7)).isoformat()
        assert claim["version"] == 2
        events = await stack.fetch(
            "SELECT kind, channel, summary FROM claims.claim_events WHERE claim_id = $1 ORDER BY id",
            uuid.UUID(claim["id"]),
        )
        assert [(e["kind"], e["channel"]) for e in events] == [
            ("status_changed", None),
            ("client_update", "wechat"),
        ]
        assert events[1]["summary"] == "资料已提交保险公司，预计两周内审核完毕"
        assert (await stored(stack, claim["id"]))["last_client_update_at"] > local(days_ago(1), 0)

    async def test_the_timeline_interleaves_status_changes_and_updates_in_order(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        updates = f"{CLAIMS}/{claim['id']}/client-updates"
        await api.post(
            updates, json={"channel": "phone", "summary": "告知所需资料"}, headers=people.agent.headers
        )
        claim = (await api.get(f"{CLAIMS}/{claim['id']}", headers=people.agent.headers)).json()
        await moved(api, people.agent, claim, "collecting_documents")
        await api.post(
            updates, json={"channel": "visit", "summary": "上门取资料"}, headers=people.agent.headers
        )

        first = await api.get(
            f"{CLAIMS}/{claim['id']}/timeline", params={"limit": 3}, headers=people.agent.headers
        )
        rest = await api.get(
            f"{CLAIMS}/{claim['id']}/timeline",
            params={"limit": 3, "cursor": first.json()["next_cursor"]},
            headers=people.agent.headers,
        )

        entries = first.json()["items"] + rest.json()["items"]
        assert [(e["kind"], e["to_status"] or e["channel"]) for e in entries] == [
            ("status_changed", "reported"),
            ("client_update", "phone"),
            ("status_changed", "collecting_documents"),
            ("client_update", "visit"),
        ]
        assert rest.json()["next_cursor"] is None

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"channel": "phone", "summary": ""}, "summary"),
            ({"channel": "pigeon", "summary": "已告知"}, "channel"),
            (
                {"channel": "phone", "summary": "已告知", "contacted_at": "2999-01-01T00:00:00Z"},
                "contacted_at",
            ),
            (
                {"channel": "phone", "summary": "已告知", "contacted_at": "2020-01-01T00:00:00Z"},
                "contacted_at",
            ),
        ],
    )
    async def test_bad_updates_store_nothing(
        self,
        api: httpx.AsyncClient,
        people: People,
        stack: Stack,
        policy: dict[str, Any],
        body: dict[str, Any],
        field: str,
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        before = await counts(stack)

        response = await api.post(
            f"{CLAIMS}/{claim['id']}/client-updates", json=body, headers=people.agent.headers
        )

        assert_problem(response, 422, field=field)
        assert await counts(stack) == before
        assert (await stored(stack, claim["id"]))["version"] == 1


class TestUpdatesDue:
    async def test_due_on_the_seventh_business_day_after_the_last_update(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        late_evening = await report_claim(api, people.agent, policy["id"])
        after_midnight = await report_claim(api, people.agent, policy["id"])
        day = days_ago(20)
        # 23:30 and 00:30 Shanghai time are the same UTC date, but different business days.
        await age_last_update(stack, late_evening["id"], local(day, 23, 30))
        await age_last_update(stack, after_midnight["id"], local(day + timedelta(days=1), 0, 30))
        assert (
            local(day, 23, 30).astimezone(UTC).date()
            == local(day + timedelta(days=1), 0, 30).astimezone(UTC).date()
        )

        on_day_6 = await work_list(api, people.agent, "updates-due", on=(day + timedelta(days=6)).isoformat())
        on_day_7 = await work_list(api, people.agent, "updates-due", on=(day + timedelta(days=7)).isoformat())
        on_day_8 = await work_list(api, people.agent, "updates-due", on=(day + timedelta(days=8)).isoformat())

        assert on_day_6 == []
        assert on_day_7 == [late_evening["id"]]
        assert on_day_8 == [late_evening["id"], after_midnight["id"]]

    async def test_oldest_first_and_an_update_takes_a_claim_off(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claims = [await report_claim(api, people.agent, policy["id"]) for _ in range(3)]
        for claim, age in zip(claims, (8, 15, 3), strict=True):
            await age_last_update(stack, claim["id"], local(days_ago(age), 9))

        assert await work_list(api, people.agent, "updates-due") == [claims[1]["id"], claims[0]["id"]]

        response = await api.post(
            f"{CLAIMS}/{claims[1]['id']}/client-updates",
            json={"channel": "phone", "summary": "保险公司审核中"},
            headers=people.agent.headers,
        )
        assert response.status_code == 201, response.text
        assert await work_list(api, people.agent, "updates-due") == [claims[0]["id"]]

    async def test_a_claim_recorded_late_owes_the_client_news_since_it_was_reported(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        late = await report_claim(
            api,
            people.agent,
            policy["id"],
            incident_date=days_ago(12).isoformat(),
            reported_on=days_ago(9).isoformat(),
        )
        await report_claim(api, people.agent, policy["id"])

        assert late["client_update_due_on"] == (days_ago(9) + timedelta(days=7)).isoformat()
        assert await work_list(api, people.agent, "updates-due") == [late["id"]]

    async def test_closed_claims_need_no_updates(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(api, people.agent, policy["id"])
        claim = await moved(api, people.agent, claim, "withdrawn")
        await age_last_update(stack, claim["id"], local(days_ago(30), 9))

        assert await work_list(api, people.agent, "updates-due") == []

    async def test_pages_follow_the_cursor(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claims = [await report_claim(api, people.agent, policy["id"]) for _ in range(3)]
        for claim, age in zip(claims, (10, 20, 30), strict=True):
            await age_last_update(stack, claim["id"], local(days_ago(age), 9))

        first = await api.get(f"{CLAIMS}/updates-due", params={"limit": 2}, headers=people.agent.headers)
        second = await api.get(
            f"{CLAIMS}/updates-due",
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=people.agent.headers,
        )

        ids = [c["id"] for c in first.json()["items"] + second.json()["items"]]
        assert ids == [claims[2]["id"], claims[1]["id"], claims[0]["id"]]
        assert second.json()["next_cursor"] is None

    async def test_a_cursor_this_api_did_not_issue_is_422(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(
            f"{CLAIMS}/updates-due", params={"cursor": "bm9wZQ"}, headers=people.agent.headers
        )

        assert_problem(response, 422, field="cursor")


class TestDecisionsOverdue:
    async def test_listed_the_day_after_the_deadline(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])
        due = date.fromisoformat(claim["decision_due_on"])
        assert due == today() + timedelta(days=30)

        assert await work_list(api, people.agent, "decisions-overdue", on=due.isoformat()) == []
        overdue = await work_list(
            api, people.agent, "decisions-overdue", on=(due + timedelta(days=1)).isoformat()
        )
        assert overdue == [claim["id"]]

    async def test_a_decision_or_a_request_for_information_takes_it_off(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        decided = await submitted_claim(api, people.agent, policy["id"])
        decided = await moved(api, people.agent, decided, "under_review")
        await moved(api, people.agent, decided, "approved", approved_amount="100000.00")
        asked = await submitted_claim(api, people.agent, policy["id"])
        await moved(api, people.agent, asked, "more_information_requested")
        waiting = await submitted_claim(api, people.agent, policy["id"])
        later = (today() + timedelta(days=40)).isoformat()

        assert await work_list(api, people.agent, "decisions-overdue", on=later) == [waiting["id"]]

    async def test_a_submission_recorded_after_the_fact_counts_from_its_date(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(
            api,
            people.agent,
            policy["id"],
            incident_date=days_ago(50).isoformat(),
            reported_on=days_ago(45).isoformat(),
        )
        claim = await moved(api, people.agent, claim, "collecting_documents")
        claim = await receive_all(api, people.agent, claim)

        claim = await moved(api, people.agent, claim, "submitted", submitted_on=days_ago(35).isoformat())

        assert claim["decision_due_on"] == days_ago(5).isoformat()
        assert await work_list(api, people.agent, "decisions-overdue") == [claim["id"]]

    async def test_complete_documents_after_a_request_restart_the_clock(
        self, api: httpx.AsyncClient, people: People, stack: Stack, policy: dict[str, Any]
    ) -> None:
        claim = await submitted_claim(api, people.agent, policy["id"])
        await stack.fetch(
            "UPDATE claims.claims SET decision_due_on = $2 WHERE id = $1",
            uuid.UUID(claim["id"]),
            days_ago(5),
        )
        claim = (await api.get(f"{CLAIMS}/{claim['id']}", headers=people.agent.headers)).json()
        assert await work_list(api, people.agent, "decisions-overdue") == [claim["id"]]

        claim = await moved(api, people.agent, claim, "more_information_requested")
        claim = await moved(api, people.agent, claim, "under_review")

        assert claim["decision_due_on"] == (today() + timedelta(days=30)).isoformat()
        assert await work_list(api, people.agent, "decisions-overdue") == []


class TestDocumentsMissing:
    async def test_missing_for_more_than_n_days(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        old = await report_claim(
            api,
            people.agent,
            policy["id"],
            incident_date=days_ago(25).isoformat(),
            reported_on=days_ago(20).isoformat(),
        )
        fresh = await report_claim(api, people.agent, policy["id"])

        assert await work_list(api, people.agent, "documents-missing") == [old["id"]]
        assert await work_list(api, people.agent, "documents-missing", older_than_days=19) == [old["id"]]
        assert await work_list(api, people.agent, "documents-missing", older_than_days=20) == []
        assert await work_list(
            api, people.agent, "documents-missing", older_than_days=0, on=days_ago(-1).isoformat()
        ) == [
            old["id"],
            fresh["id"],
        ]

    async def test_receiving_everything_takes_it_off(
        self, api: httpx.AsyncClient, people: People, policy: dict[str, Any]
    ) -> None:
        claim = await report_claim(
            api,
            people.agent,
            policy["id"],
            incident_date=days_ago(25).isoformat(),
            reported_on=days_ago(20).isoformat(),
        )
        claim = await moved(api, people.agent, claim, "collecting_documents")

        claim = await receive_all(api, people.agent, claim)

        assert claim["documents_missing_since"] is None
        assert await work_list(api, people.agent, "documents-missing") == []

    async def test_n_must_be_a_sensible_number(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            f"{CLAIMS}/documents-missing", params={"older_than_days": -1}, headers=people.agent.headers
        )

        assert_problem(response, 422, field="query.older_than_days")
