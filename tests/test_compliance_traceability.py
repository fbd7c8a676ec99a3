"""Issue 17, item 5: sales traceability (可回溯, 《保险销售行为可回溯管理暂行办法》2017). The rule
table is served; a sale it covers needs its recording before submission; a record on a sale that
needs none, or one that ends before it starts, is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.compliance_support import participating, record_traceability, recording
from tests.conftest import People, Person, Stack
from tests.policies_support import (
    APPLICATIONS,
    assert_problem,
    counts,
    create_application,
    create_client,
    create_product,
    if_match,
    today,
)

RULES = f"{APPLICATIONS}/traceability-rules"


async def _senior(api: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    born = today().replace(year=today().year - 62, day=min(today().day, 28))
    return await create_client(api, person, birth_date=born.isoformat())


async def _submit(api: httpx.AsyncClient, person: Person, application: dict[str, Any]) -> httpx.Response:
    return await api.post(
        f"{APPLICATIONS}/{application['id']}/submit",
        json={},
        headers=if_match(person, application["version"]),
    )


class TestTheRuleTable:
    async def test_it_is_served_with_what_is_not_applied(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(RULES, headers=people.agent.headers)
        assert response.status_code == 200, response.text
        rules = {r["code"]: r for r in response.json()}
        assert set(rules) == {
            "senior_policyholder",
            "investment_linked",
            "participating_or_universal",
            "insurer_requires",
            "bank_channel_over_one_year",
        }
        assert rules["bank_channel_over_one_year"]["applied"] is False
        assert rules["bank_channel_over_one_year"]["note"]
        assert "2017" in rules["senior_policyholder"]["source"]


class TestWhichSalesAreRecorded:
    async def test_a_policyholder_of_60_or_over_buying_long_cover(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, max_insured_age=70)
        client = await _senior(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        assert application["traceability_reasons"] == ["senior_policyholder"]

    async def test_a_senior_buying_one_year_cover_is_not(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(
            api,
            people.admin,
            max_insured_age=70,
            category="million_medical",
            walls=["medical"],
            coverage_term="one_year_renewable",
            payment_years=[1],
        )
        client = await _senior(api, people.agent)
        application = await create_application(
            api, people.agent, client["id"], product["id"], payment_years=1
        )
        assert application["traceability_reasons"] == []

    async def test_participating_and_insurer_required_products(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        annuity = await create_product(api, people.admin, **participating(payment_years=[10]))
        marked = await create_product(api, people.admin, recording_required=True)
        client = await create_client(api, people.agent)
        first = await create_application(api, people.agent, client["id"], annuity["id"], payment_years=10)
        second = await create_application(api, people.agent, client["id"], marked["id"])
        assert first["traceability_reasons"] == ["participating_or_universal"]
        assert second["traceability_reasons"] == ["insurer_requires"]

    async def test_an_ordinary_sale_is_not(self, api: httpx.AsyncClient, people: People) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        assert application["traceability_reasons"] == []


class TestSubmissionNeedsTheRecording:
    async def test_without_it_submission_is_409_naming_it(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, max_insured_age=70)
        client = await _senior(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        before = await counts(stack)
        problem = assert_problem(await _submit(api, people.agent, application), 409)
        assert problem["missing"] == ["traceability_record"]
        assert await counts(stack) == before

    async def test_with_it_submission_goes_through(self, api: httpx.AsyncClient, people: People) -> None:
        product = await create_product(api, people.admin, max_insured_age=70)
        client = await _senior(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        record = await record_traceability(api, people.agent, application["id"])
        assert record["recording_reference"] == "REC-2026-0001"
        read = await api.get(f"{APPLICATIONS}/{application['id']}/traceability", headers=people.agent.headers)
        assert read.json()["id"] == record["id"]
        response = await _submit(api, people.agent, application)
        assert response.status_code == 200, response.text

    async def test_a_non_guaranteed_product_must_show_the_risk_warning(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        annuity = await create_product(api, people.admin, **participating(payment_years=[10]))
        client = await create_client(api, people.agent)
        application = await create_application(
            api, people.agent, client["id"], annuity["id"], payment_years=10
        )
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{application['id']}/traceability", json=recording(), headers=people.agent.headers
        )
        assert "non_guaranteed_risk" in assert_problem(response, 422, field="confirmed_items")["detail"]
        assert await counts(stack) == before
        items = [*recording()["confirmed_items"], "non_guaranteed_risk"]
        await record_traceability(api, people.agent, application["id"], confirmed_items=items)


class TestBadRecords:
    async def test_an_end_before_the_start_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, max_insured_age=70)
        client = await _senior(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        start = datetime.now(UTC) - timedelta(hours=1)
        before = await counts(stack)
        for ended in (start - timedelta(minutes=1), start):
            body = recording(started_at=start.isoformat(), ended_at=ended.isoformat())
            response = await api.post(
                f"{APPLICATIONS}/{application['id']}/traceability", json=body, headers=people.agent.headers
            )
            assert_problem(response, 422, field="ended_at")
        assert await counts(stack) == before

    async def test_a_record_on_a_sale_that_needs_none_is_422(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        before = await counts(stack)
        response = await api.post(
            f"{APPLICATIONS}/{application['id']}/traceability", json=recording(), headers=people.agent.headers
        )
        assert_problem(response, 422, field="application")
        assert await counts(stack) == before

    async def test_a_second_record_is_409(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        product = await create_product(api, people.admin, max_insured_age=70)
        client = await _senior(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        await record_traceability(api, people.agent, application["id"])
        before = await counts(stack)
        again = await api.post(
            f"{APPLICATIONS}/{application['id']}/traceability", json=recording(), headers=people.agent.headers
        )
        assert_problem(again, 409)
        assert await counts(stack) == before

    async def test_a_missing_recording_shows_in_the_leads_findings(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, max_insured_age=70)
        client = await _senior(api, people.agent)
        application = await create_application(api, people.agent, client["id"], product["id"])
        report = await api.get("/api/v1/policies/compliance/findings", headers=people.lead.headers)
        [missing] = report.json()["missing_traceability"]
        assert missing["application_id"] == application["id"]
        assert missing["reasons"] == ["senior_policyholder"]
        await record_traceability(api, people.agent, application["id"])
        report = await api.get("/api/v1/policies/compliance/findings", headers=people.lead.headers)
        assert report.json()["missing_traceability"] == []
