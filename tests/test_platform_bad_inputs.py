"""Inputs that answered 500 (issue 14, finding 8): each is now a clear 4xx and stores nothing."""

from __future__ import annotations

import base64
import json

import httpx

from tests.claims_support import CLAIMS, issue_policy, report_claim
from tests.clients_support import CLIENTS, assert_problem, create_client
from tests.conftest import People, Stack
from tests.policies_support import product_body


def cursor_of(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


class TestIfMatch:
    async def test_an_if_match_of_4300_digits_is_a_412_and_changes_nothing(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"name": "Changed"},
            headers={**people.agent.headers, "If-Match": "9" * 4300},
        )

        assert_problem(response, 412)
        rows = await stack.fetch("SELECT name, version FROM clients.clients WHERE id = $1", client["id"])
        assert (rows[0]["name"], rows[0]["version"]) == (client["name"], client["version"])

    async def test_unicode_digits_name_no_version(self, api: httpx.AsyncClient, people: People) -> None:
        client = await create_client(api, people.agent)

        response = await api.patch(
            f"{CLIENTS}/{client['id']}",
            json={"name": "Changed"},
            headers=[(k.encode(), v.encode()) for k, v in people.agent.headers.items()]
            + [(b"if-match", 'W/"¹"'.encode("latin-1"))],
        )

        assert_problem(response, 412)


class TestCursors:
    async def test_a_timeline_cursor_with_a_huge_integer_is_422(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        policy = await issue_policy(api, people, people.agent)
        claim = await report_claim(api, people.agent, policy["id"])

        response = await api.get(
            f"{CLAIMS}/{claim['id']}/timeline",
            params={"cursor": cursor_of(["2026-11-30T10:00:00+00:00", 10**30])},
            headers=people.agent.headers,
        )

        assert_problem(response, 422)


class TestLongerThanTheColumn:
    async def test_a_complaint_summary_of_2001_characters_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)

        response = await api.post(
            f"{CLIENTS}/{client['id']}/complaints",
            json={"summary": "很" * 2001, "category": "service"},
            headers=people.agent.headers,
        )

        assert_problem(response, 422, field="summary")
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.complaints"))[0]["n"] == 0

    async def test_an_insurer_name_of_101_characters_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        response = await api.post(
            "/api/v1/policies/products", json=product_body(insurer="保" * 101), headers=people.admin.headers
        )

        assert_problem(response, 422, field="insurer")
        assert (await stack.fetch("SELECT count(*) AS n FROM policies.products"))[0]["n"] == 0


class TestImpossibleMoments:
    async def test_an_interaction_at_year_1_east_of_greenwich_is_422(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)

        response = await api.post(
            f"{CLIENTS}/{client['id']}/interactions",
            json={"kind": "call", "at": "0001-01-01T00:00+14:00", "notes": "打了电话"},
            headers=people.agent.headers,
        )

        assert_problem(response, 422, field="at")
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.interactions"))[0]["n"] == 0


class TestFoundByTheFuzzer:
    """Once the fuzzer got past the door it found these; each is a 4xx now."""

    async def test_a_number_is_no_date(self, api: httpx.AsyncClient, people: People) -> None:
        for path, parameter in (
            (CLIENTS, "follow_up_due_by"),
            ("/api/v1/claims/reports/business", "to"),
            ("/api/v1/reports/business", "from"),
        ):
            response = await api.get(path, params={parameter: "0"}, headers=people.lead.headers)
            assert_problem(response, 422, field=f"query.{parameter}")

    async def test_a_number_is_no_moment_and_0_is_no_boolean(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        client = await create_client(api, people.agent)

        moment = await api.post(
            f"{CLIENTS}/{client['id']}/interactions",
            json={"kind": "call", "at": 0},
            headers=people.agent.headers,
        )
        flag = await api.post(
            f"{CLIENTS}/{client['id']}/milestones",
            json={"title": "结婚纪念日", "occurs_on": "2010-05-01", "recurs_yearly": 0},
            headers=people.agent.headers,
        )

        assert_problem(moment, 422, field="at")
        assert_problem(flag, 422, field="recurs_yearly")
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.interactions"))[0]["n"] == 0
        assert (await stack.fetch("SELECT count(*) AS n FROM clients.milestones"))[0]["n"] == 0

    async def test_a_word_after_a_collection_is_not_an_id(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        # /claims/agenda-lists is GET only; it once answered Allow: GET, PATCH (the item route's).
        options = await api.options("/api/v1/claims/agenda-lists", headers=people.agent.headers)
        patch = await api.patch(f"{CLIENTS}/changes", json={}, headers=people.agent.headers)

        assert_problem(options, 405)
        assert options.headers["allow"] == "GET"
        assert_problem(patch, 405)
        assert "PATCH" not in patch.headers["allow"]
