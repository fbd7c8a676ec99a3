"""Notifications (issue 18 §3): in-app feed and SSE stream through the gateway, e-mail to a real SMTP
server, SMS/WeChat through the provider adapter, consent, quiet hours, an outbox sent at most once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from crmkit.clock import BusinessClock
from crmkit.db import create_engine, session_factory
from crmkit.testing import StreamingASGITransport
from services.tasks import notifications
from services.tasks.dependencies import get_clock
from services.tasks.worker import Worker
from tests import claims_support, policies_support
from tests.clients_support import assert_problem, create_client
from tests.conftest import People, Stack
from tests.tasks_support import TASKS, ZONE, body_of, count, create_task, give_consent, in_hours, smtp_server

NOTIFICATIONS = f"{TASKS}/notifications"


def to_client(
    client_id: str, template: str = "claim_progress", channels: list[str] | None = None, **variables: str
) -> dict[str, Any]:
    return {
        "recipient": {"type": "client", "id": client_id},
        "template": template,
        "channels": channels or ["sms"],
        "variables": variables or ({"progress": "材料已提交"} if template == "claim_progress" else {}),
    }


def premium(people: People, policy: str) -> dict[str, Any]:
    return {
        "recipient": {"type": "user", "id": str(people.agent.user_id)},
        "template": "premium_due",
        "channels": ["in_app"],
        "variables": {"policy": policy, "instalment": "2", "due": "2026-12-20"},
    }


def at_local(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    base = datetime.now(ZONE) + timedelta(days=days)
    return base.replace(hour=hour, minute=minute, second=0, microsecond=0)


class TestEmail:
    async def test_a_task_coming_due_reaches_its_owner_by_email_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        task = await create_task(api, people.agent, title="给李娜回电话", due_at=in_hours(0.5))
        worker = stack.apps["tasks"].state.worker
        with smtp_server(stack) as inbox:
            first = await worker.run_once(intake_events=False)
            second = await worker.run_once(intake_events=False)
        assert first.reminders == 1
        assert second.reminders == 0
        assert len(inbox.received) == 1
        mail = inbox.received[0]
        assert mail.recipients == [people.agent.email]
        assert mail.message["Subject"] == "任务即将到期：给李娜回电话"  # noqa: RUF001
        assert "您的任务「给李娜回电话」将于" in body_of(mail)
        rows = await stack.fetch(
            "SELECT channel, status, attempts, address FROM tasks.deliveries ORDER BY channel"
        )
        assert [(r["channel"], r["status"], r["attempts"]) for r in rows] == [
            ("email", "sent", 1),
            ("in_app", "sent", 1),
        ]
        feed = (await api.get(NOTIFICATIONS, headers=people.agent.headers)).json()["items"]
        assert [n["link_path"] for n in feed] == [f"{TASKS}/{task['id']}"]

    async def test_smtp_down_is_retried_then_sent(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_task(api, people.agent, due_at=in_hours(0.5))
        settings = stack.apps["tasks"].state.settings
        worker = stack.apps["tasks"].state.worker
        saved = settings.smtp_port
        settings.smtp_port = 1  # nothing listens there
        try:
            report = await worker.run_once(intake_events=False)
        finally:
            settings.smtp_port = saved
        assert report.attempted == 1
        assert report.sent == 0
        row = (
            await stack.fetch(
                "SELECT status, attempts, last_error, next_attempt_at FROM tasks.deliveries"
                " WHERE channel = 'email'"
            )
        )[0]
        assert row["status"] == "pending"
        assert row["attempts"] == 1
        assert row["last_error"]
        with smtp_server(stack) as inbox:
            await worker.run_once(now=row["next_attempt_at"] + timedelta(seconds=1), intake_events=False)
        assert len(inbox.received) == 1
        row = (await stack.fetch("SELECT status, attempts FROM tasks.deliveries WHERE channel = 'email'"))[0]
        assert (row["status"], row["attempts"]) == ("sent", 2)

    async def test_two_replicas_send_each_message_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        for n in range(30):
            await create_task(api, people.agent, title=f"任务{n}", due_at=in_hours(0.5))
        app = stack.apps["tasks"]
        first: Worker = app.state.worker
        engine = create_engine(app.state.settings)
        second = Worker(
            settings=first.settings, sessions=session_factory(engine), app=app, senders=first.senders
        )
        try:
            await first.sweep(first.clock(None))
            with smtp_server(stack) as inbox:
                await asyncio.gather(
                    first.run_once(intake_events=False), second.run_once(intake_events=False)
                )
        finally:
            await engine.dispose()
        subjects = [r.message["Subject"] for r in inbox.received]
        assert len(subjects) == 30
        assert len(set(subjects)) == 30
        rows = await stack.fetch("SELECT status, attempts FROM tasks.deliveries WHERE channel = 'email'")
        assert {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}

    async def test_a_send_left_unfinished_is_never_sent_again(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_task(api, people.agent, due_at=in_hours(0.5))
        worker = stack.apps["tasks"].state.worker
        await worker.sweep(worker.clock(None))
        # a replica claims the row, then stops before it can record the outcome
        await stack.fetch(
            "UPDATE tasks.deliveries SET status = 'sending', attempts = 1,"
            " next_attempt_at = now() - interval '1 second' WHERE channel = 'email'"
        )
        with smtp_server(stack) as inbox:
            await worker.run_once(intake_events=False)
        assert inbox.received == []
        row = (await stack.fetch("SELECT status, last_error FROM tasks.deliveries WHERE channel = 'email'"))[
            0
        ]
        assert row["status"] == "failed"
        assert "not sent again" in row["last_error"]


class TestStream:
    async def test_a_notification_arrives_on_the_open_stream_through_the_gateway(
        self, people: People, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        gateway = httpx.AsyncClient(
            transport=StreamingASGITransport(stack.apps["gateway"]), base_url="http://gateway.internal"
        )
        events: list[dict[str, Any]] = []
        async with (
            gateway,
            gateway.stream("GET", f"{NOTIFICATIONS}/stream", headers=people.agent.headers) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await anext(lines) == ": connected"
            sent = await api.post(
                NOTIFICATIONS,
                json={
                    "recipient": {"type": "user", "id": str(people.agent.user_id)},
                    "template": "premium_due",
                    "channels": ["in_app"],
                    "variables": {"policy": "P2026-001", "instalment": "2", "due": "2026-12-20"},
                },
                headers=people.agent.headers,
            )
            assert sent.status_code == 201, sent.text
            async with asyncio.timeout(10):
                event = None
                async for line in lines:
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "notification":
                        events.append(json.loads(line.removeprefix("data: ")))
                        break
        assert events[0]["id"] == sent.json()["id"]
        assert events[0]["subject"] == "保费到期提醒：P2026-001"  # noqa: RUF001

    async def test_a_reconnect_with_last_event_id_gets_what_it_missed(
        self, people: People, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        ids = []
        for n in range(3):
            sent = await api.post(NOTIFICATIONS, json=premium(people, f"P{n}"), headers=people.agent.headers)
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        gateway = httpx.AsyncClient(
            transport=StreamingASGITransport(stack.apps["gateway"]), base_url="http://gateway.internal"
        )
        got: list[str] = []
        headers = {**people.agent.headers, "Last-Event-ID": ids[0]}
        async with gateway, gateway.stream("GET", f"{NOTIFICATIONS}/stream", headers=headers) as stream:
            async with asyncio.timeout(10):
                async for line in stream.aiter_lines():
                    if line.startswith("id: "):
                        got.append(line.removeprefix("id: "))
                    if len(got) == 2:
                        break
        assert got == ids[1:]

    async def test_a_stream_without_a_token_is_401(self, api: httpx.AsyncClient, stack: Stack) -> None:
        assert_problem(await api.get(f"{NOTIFICATIONS}/stream"), 401)


class TestToClients:
    async def test_a_service_message_with_consent_goes_by_the_provider_adapter(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="张伟")
        await give_consent(api, people.agent, client["id"], "personal_data")
        ten = at_local(10)
        with _clock_at(stack, ten):
            response = await api.post(
                NOTIFICATIONS, json=to_client(client["id"]), headers=people.agent.headers
            )
        assert response.status_code == 201, response.text
        n = response.json()
        assert n["body"].startswith("张伟，您的理赔目前进展：材料已提交")  # noqa: RUF001
        # The worker at the same daytime moment: run at the real hour, night-time quiet hours hold it.
        await stack.apps["tasks"].state.worker.run_once(now=ten, intake_events=False)
        row = (await stack.fetch("SELECT status, address FROM tasks.deliveries"))[0]
        assert (row["status"], row["address"]) == ("sent", f"client:{client['id']}")

    async def test_without_consent_is_409_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "personal_data")  # service, not marketing
        problem = assert_problem(
            await api.post(
                NOTIFICATIONS, json=to_client(client["id"], "birthday_greeting"), headers=people.agent.headers
            ),
            409,
        )
        assert problem["missing_consent"] == "marketing"
        bare = await create_client(api, people.agent)
        assert_problem(
            await api.post(NOTIFICATIONS, json=to_client(bare["id"]), headers=people.agent.headers), 409
        )
        assert await count(stack, "notifications") == 0
        assert await count(stack, "deliveries") == 0

    async def test_a_client_of_someone_else_is_404(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        theirs = await create_client(api, people.outsider)
        assert_problem(
            await api.post(NOTIFICATIONS, json=to_client(theirs["id"]), headers=people.agent.headers), 404
        )
        assert await count(stack, "notifications") == 0

    async def test_an_unknown_channel_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        for channels in (["fax"], ["sms", "pigeon"]):
            response = await api.post(
                NOTIFICATIONS, json=to_client(client["id"], channels=channels), headers=people.agent.headers
            )
            assert_problem(response, 422)
        # e-mail and in-app exist, but a client is reached by SMS or WeChat only
        response = await api.post(
            NOTIFICATIONS, json=to_client(client["id"], channels=["email"]), headers=people.agent.headers
        )
        assert_problem(response, 422, field="channels")
        assert await count(stack, "notifications") == 0

    async def test_an_unmasked_identifier_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "personal_data")
        body = to_client(client["id"], progress="请拨打13812345678联系理赔员")
        assert_problem(
            await api.post(NOTIFICATIONS, json=body, headers=people.agent.headers), 422, field="variables"
        )
        assert await count(stack, "notifications") == 0

    async def test_quiet_hours_hold_a_client_message_until_eight(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent)
        await give_consent(api, people.agent, client["id"], "marketing")
        evening = at_local(22, 30)
        with _clock_at(stack, evening):
            response = await api.post(
                NOTIFICATIONS,
                json=to_client(client["id"], "birthday_greeting", ["wechat"]),
                headers=people.agent.headers,
            )
        assert response.status_code == 201, response.text
        delivery = response.json()["deliveries"][0]
        assert delivery["held_for_quiet_hours"] is True
        release = datetime.fromisoformat(delivery["next_attempt_at"])
        assert release == at_local(8, days=1)
        worker = stack.apps["tasks"].state.worker
        assert (await worker.run_once(now=release - timedelta(minutes=1), intake_events=False)).sent == 0
        assert (await worker.run_once(now=release, intake_events=False)).sent == 1


class _clock_at:  # noqa: N801 - reads as a context manager
    """The tasks service's request clock fixed at ``moment``."""

    def __init__(self, stack: Stack, moment: datetime) -> None:
        self.app = stack.apps["tasks"]
        self.moment = moment

    def __enter__(self) -> None:
        self.app.dependency_overrides[get_clock] = lambda: BusinessClock(zone=ZONE, now=lambda: self.moment)

    def __exit__(self, *exc: object) -> None:
        self.app.dependency_overrides.pop(get_clock, None)


@pytest.fixture(autouse=True)
def _no_override_left(stack: Stack) -> None:
    stack.apps["tasks"].dependency_overrides.clear()


__all__ = ["uuid"]


class TestAppointments:
    async def test_the_agent_is_reminded_an_hour_before_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await create_client(api, people.agent, name="王建国")
        soon = datetime.now(ZONE) + timedelta(minutes=30)
        if soon.date() != datetime.now(ZONE).date():
            pytest.skip("the appointment would fall tomorrow")
        booked = await api.post(
            f"/api/v1/clients/{client['id']}/interactions",
            json={
                "kind": "appointment",
                "at": soon.isoformat(),
                "place": "星巴克世纪大道店",
                "purpose": "保单检视",
            },
            headers=people.agent.headers,
        )
        assert booked.status_code == 201, booked.text
        worker = stack.apps["tasks"].state.worker
        now = datetime.now(ZONE)
        await worker.run_once(now=now, intake_events=False)
        await worker.run_once(now=now, intake_events=False)
        feed = (await api.get(NOTIFICATIONS, headers=people.agent.headers)).json()["items"]
        assert [(n["template"], n["subject"]) for n in feed] == [
            ("appointment_soon", "一小时后有约见：王建国")  # noqa: RUF001
        ]
        assert "星巴克世纪大道店" in feed[0]["body"]


class TestWorkLists:
    async def test_a_premium_due_within_a_week_reminds_the_owner_once(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        client = await policies_support.create_client(api, people.agent)
        today = datetime.now(ZONE).date()
        effective = today.replace(year=today.year - 1) + timedelta(days=3)
        policy = await policies_support.issue_policy(
            api, people.agent, client["id"], effective_on=effective, admin=people.admin
        )
        worker = stack.apps["tasks"].state.worker
        await worker.run_once(now=datetime.now(ZONE), intake_events=False)
        await worker.run_once(now=datetime.now(ZONE), intake_events=False)
        feed = (await api.get(NOTIFICATIONS, headers=people.agent.headers)).json()["items"]
        premiums = [n for n in feed if n["template"] == "premium_due"]
        assert [n["subject"] for n in premiums] == [f"保费到期提醒：{policy['policy_number']}"]  # noqa: RUF001
        assert premiums[0]["link_path"] == f"/api/v1/policies/{policy['id']}"
        assert (await api.get(NOTIFICATIONS, headers=people.colleague.headers)).json()["items"] == []

    async def test_a_claim_owing_its_weekly_update_reminds_the_owner_once_a_day(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        policy = await claims_support.issue_policy(api, people, people.agent)
        claim = await claims_support.report_claim(api, people.agent, policy["id"])
        worker = stack.apps["tasks"].state.worker
        in_eight_days = datetime.now(ZONE) + timedelta(days=8)
        await worker.run_once(now=in_eight_days, intake_events=False)
        await worker.run_once(now=in_eight_days, intake_events=False)
        await worker.run_once(now=in_eight_days + timedelta(days=1), intake_events=False)
        rows = await stack.fetch(
            "SELECT dedupe_key FROM tasks.notifications WHERE template = 'claim_update_owed'"
            " ORDER BY created_at"
        )
        assert [r["dedupe_key"].rsplit(":", 1)[0] for r in rows] == [f"claim-update:{claim['id']}"] * 2
        assert len({r["dedupe_key"] for r in rows}) == 2


class TestPreferences:
    async def test_in_app_only_sends_no_email(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.put(
            f"{TASKS}/preferences", json={"channels": ["in_app"]}, headers=people.agent.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["channels"] == ["in_app"]
        await create_task(api, people.agent, due_at=in_hours(0.5))
        await stack.apps["tasks"].state.worker.run_once(intake_events=False)
        rows = await stack.fetch("SELECT channel FROM tasks.deliveries")
        assert [r["channel"] for r in rows] == ["in_app"]

    async def test_own_quiet_hours_hold_email_not_in_app(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        now = datetime.now(ZONE)
        quiet_from, quiet_until = (
            (now - timedelta(hours=1)).strftime("%H:%M"),
            (now + timedelta(hours=1)).strftime("%H:%M"),
        )
        body = {"channels": ["email"], "quiet_from": quiet_from, "quiet_until": quiet_until}
        assert (
            await api.put(f"{TASKS}/preferences", json=body, headers=people.agent.headers)
        ).status_code == 200
        await create_task(api, people.agent, due_at=in_hours(0.5))
        await stack.apps["tasks"].state.worker.run_once(intake_events=False)
        rows = await stack.fetch(
            "SELECT channel, status, held_for_quiet_hours FROM tasks.deliveries ORDER BY channel"
        )
        assert [(r["channel"], r["status"], r["held_for_quiet_hours"]) for r in rows] == [
            ("email", "pending", True),
            ("in_app", "sent", False),
        ]

    async def test_half_quiet_hours_or_an_unknown_channel_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        bodies: list[dict[str, Any]] = [
            {"channels": ["in_app"], "quiet_from": "21:00"},
            {"channels": ["telegram"]},
            {"channels": []},
        ]
        for body in bodies:
            assert_problem(
                await api.put(f"{TASKS}/preferences", json=body, headers=people.agent.headers), 422
            )
        assert await count(stack, "preferences") == 0


class TestRemindersInBulk:
    async def test_more_reminders_than_one_statement_can_bind(self, people: People, stack: Stack) -> None:
        """3,000 reminders at once (the work lists of a large book): 12 values a notification would
        be 36,000 bind parameters in one statement, past PostgreSQL's 32,767; each is stored and
        delivered once, and a second pass over the same keys adds nothing."""
        worker: Worker = stack.apps["tasks"].state.worker
        clock = worker.clock(None)
        items = [
            (
                people.agent.user_id,
                {"policy": f"P{n:05d}", "instalment": "2", "due": "2026-12-08"},
                f"/api/v1/policies/{uuid.uuid4()}",
                f"premium-due:bulk-{n}",
            )
            for n in range(3000)
        ]
        for expected in (3000, 0):
            async with worker.sessions() as session:
                made = await notifications.remind_many(
                    session=session,
                    clock=clock,
                    template_key="premium_due",
                    items=items,
                    created_by="system:reminders",
                )
                await session.commit()
            assert made == expected
        assert await count(stack, "notifications") == 3000
        rows = await stack.fetch("SELECT channel, count(*) AS n FROM tasks.deliveries GROUP BY channel")
        assert {r["n"] for r in rows} == {3000}
