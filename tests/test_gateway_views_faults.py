"""The views when services fail: each one down or slow → 200 partial naming it; all down → 503."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import People, Stack
from tests.policies_support import create_client, today
from tests.views_support import (
    AGENDA,
    AGENDA_SERVICES,
    REPORT,
    REPORT_SERVICES,
    SERVICES,
    assert_problem,
    overview_path,
    record_interaction,
    slow,
    source,
    views_timeout,
)

AGENDA_SECTIONS = {
    "clients": ("appointments", "follow_ups", "birthdays_and_milestones"),
    "policies": (
        "requirements_due",
        "cooling_off_ending",
        "return_visits_pending",
        "premiums_due",
        "premiums_in_grace",
        "renewals_due",
        "lapsed_policies",
    ),
    "claims": ("claim_updates_due", "claim_decisions_overdue"),
    "devices": ("device_checks_due", "maintenance_overdue"),
}
OVERVIEW_PARTS = {"policies": ("policies", "open_applications"), "claims": ("claims",)}
TIMEOUT = 1.0  # generous: the test machine is shared; the slow service takes 30 s


async def _client_with_follow_up(api: httpx.AsyncClient, people: People) -> dict[str, str]:
    client = await create_client(api, people.agent, name="孙丽")
    await record_interaction(
        api, people.agent, client["id"], kind="call", next_follow_up_on=today().isoformat()
    )
    return client


class TestOneServiceDown:
    @pytest.mark.parametrize("service", SERVICES)
    async def test_agenda_is_partial_and_names_it(
        self, api: httpx.AsyncClient, stack: Stack, people: People, service: str
    ) -> None:
        await _client_with_follow_up(api, people)
        stack.mesh.down.add(f"{service}.internal")

        response = await api.get(AGENDA, headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is True
        assert source(body, service)["status"] == "unavailable"
        assert all(s["status"] == "ok" for s in body["sources"] if s["service"] != service)
        for name in AGENDA_SECTIONS[service]:
            assert body[name] is None
        others = [n for s, names in AGENDA_SECTIONS.items() if s != service for n in names]
        assert all(body[name] is not None for name in others)
        if service != "clients":
            assert body["follow_ups"]["items"][0]["subject"]["display_name"] == "孙丽"

    @pytest.mark.parametrize("service", ["policies", "claims"])
    async def test_overview_is_partial_and_names_it(
        self, api: httpx.AsyncClient, stack: Stack, people: People, service: str
    ) -> None:
        client = await _client_with_follow_up(api, people)
        stack.mesh.down.add(f"{service}.internal")

        response = await api.get(overview_path(client["id"]), headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is True
        assert source(body, service)["status"] == "unavailable"
        assert body["profile"]["name"] == "孙丽"
        assert all(body[part] is None for part in OVERVIEW_PARTS[service])

    async def test_overview_without_the_clients_service_keeps_the_rest(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await _client_with_follow_up(api, people)
        stack.mesh.down.add("clients.internal")

        response = await api.get(overview_path(client["id"]), headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is True
        assert source(body, "clients")["status"] == "unavailable"
        assert body["profile"] is None
        assert body["policies"] == []

    @pytest.mark.parametrize("service", SERVICES)
    async def test_report_is_partial_and_names_it(
        self, api: httpx.AsyncClient, stack: Stack, people: People, service: str
    ) -> None:
        stack.mesh.down.add(f"{service}.internal")

        response = await api.get(REPORT, headers=people.lead.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is True
        assert source(body, service)["status"] == "unavailable"
        assert body[service] is None


class TestOneServiceSlow:
    @pytest.mark.parametrize("service", SERVICES)
    async def test_agenda_answers_within_the_timeout_without_it(
        self,
        api: httpx.AsyncClient,
        stack: Stack,
        people: People,
        monkeypatch: pytest.MonkeyPatch,
        service: str,
    ) -> None:
        await _client_with_follow_up(api, people)

        with views_timeout(stack, monkeypatch, TIMEOUT), slow(stack, service, 30):
            response = await api.get(AGENDA, headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is True
        slow_source = source(body, service)
        assert slow_source["status"] == "timeout"
        assert slow_source["http_status"] is None
        assert all(body[name] is None for name in AGENDA_SECTIONS[service])
        assert all(s["status"] == "ok" for s in body["sources"] if s["service"] != service)

    @pytest.mark.parametrize("service", ["clients", "policies", "claims"])
    async def test_overview_answers_within_the_timeout_without_it(
        self,
        api: httpx.AsyncClient,
        stack: Stack,
        people: People,
        monkeypatch: pytest.MonkeyPatch,
        service: str,
    ) -> None:
        client = await _client_with_follow_up(api, people)

        with views_timeout(stack, monkeypatch, TIMEOUT), slow(stack, service, 30):
            response = await api.get(overview_path(client["id"]), headers=people.agent.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["partial"] is True
        assert source(body, service)["status"] == "timeout"

    async def test_report_answers_within_the_timeout_without_it(
        self, api: httpx.AsyncClient, stack: Stack, people: People, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with views_timeout(stack, monkeypatch, TIMEOUT), slow(stack, "claims", 30):
            response = await api.get(REPORT, headers=people.admin.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert source(body, "claims")["status"] == "timeout"
        assert body["claims"] is None
        assert body["clients"] is not None


class TestEveryServiceDown:
    async def test_agenda_is_a_503_problem(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        stack.mesh.down.update(f"{s}.internal" for s in AGENDA_SERVICES)

        problem = assert_problem(await api.get(AGENDA, headers=people.agent.headers), 503)

        assert all(s in problem["detail"] for s in AGENDA_SERVICES)

    async def test_overview_is_a_503_problem(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)
        stack.mesh.down.update(f"{s}.internal" for s in SERVICES)

        assert_problem(await api.get(overview_path(client["id"]), headers=people.agent.headers), 503)

    async def test_report_is_a_503_problem(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        stack.mesh.down.update(f"{s}.internal" for s in REPORT_SERVICES)

        assert_problem(await api.get(REPORT, headers=people.lead.headers), 503)

    async def test_every_service_slow_is_a_503_problem_not_a_hang(
        self, api: httpx.AsyncClient, stack: Stack, people: People, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with views_timeout(stack, monkeypatch, TIMEOUT):
            for service in AGENDA_SERVICES:
                stack.mesh.slow[f"{service}.internal"] = 30
            try:
                response = await api.get(AGENDA, headers=people.agent.headers)
            finally:
                stack.mesh.slow.clear()

        problem = assert_problem(response, 503)
        assert "timeout" in problem["detail"]


class TestDateRange:
    async def test_a_date_a_year_away_still_answers(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.get(
            AGENDA, params={"date": (today() + timedelta(days=300)).isoformat()}, headers=people.agent.headers
        )

        assert response.status_code == 200, response.text
        assert response.json()["partial"] is False
