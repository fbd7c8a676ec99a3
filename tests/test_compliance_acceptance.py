"""Issue 17, items 1-3: product disclosures, their acknowledgment before acceptance, illustrated
returns within the product's cap, and informed choices against the plan rules (manual 六)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.compliance_support import accept, disclosed_product, participating, satisfy_acceptance
from tests.conftest import People, Person, Stack
from tests.policies_support import (
    PRODUCTS,
    PROPOSALS,
    assert_problem,
    counts,
    create_client,
    create_product,
    if_match,
    product_body,
)


def _item(product: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "product_id": product["id"],
        "sum_insured": "500000.00",
        "annual_premium": "6000.00",
        "payment_years": 20,
        **overrides,
    }


async def _propose(
    api: httpx.AsyncClient, person: Person, client_id: str, *items: dict[str, Any]
) -> dict[str, Any]:
    response = await api.post(
        PROPOSALS, json={"client_id": client_id, "items": list(items)}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    proposal: dict[str, Any] = response.json()
    return proposal


async def _ack(
    api: httpx.AsyncClient,
    person: Person,
    proposal: dict[str, Any],
    product: dict[str, Any],
    **overrides: Any,
) -> httpx.Response:
    body = {
        "revision": 1,
        "product_id": product["id"],
        "item": "exclusions",
        "channel": "video",
        "disclosure_version": product["disclosure_version"],
        **overrides,
    }
    return await api.post(f"{PROPOSALS}/{proposal['id']}/acknowledgments", json=body, headers=person.headers)


class TestProductDisclosures:
    async def test_a_product_carries_its_disclosures(self, api: httpx.AsyncClient, people: People) -> None:
        product = await create_product(api, people.admin, **participating())
        assert product["exclusions"] == ["投保人故意行为"]
        assert product["non_guaranteed_basis"] == "participating"
        assert product["non_guaranteed_benefits"] == ["红利"]
        assert product["max_illustrated_rate"] == "3.50"
        assert product["disclosure_version"] == 1
        assert product["recording_required"] is False

    async def test_changing_a_disclosed_term_raises_the_version(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        path = f"{PRODUCTS}/{product['id']}"
        renamed = await api.patch(
            path, json={"name": "新名字 X1"}, headers=if_match(people.admin, product["version"])
        )
        assert renamed.json()["disclosure_version"] == 1
        changed = await api.patch(
            path, json={"waiting_days": 180}, headers=if_match(people.admin, renamed.json()["version"])
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["disclosure_version"] == 2

    async def test_non_guaranteed_benefits_need_their_basis(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await counts(stack)
        for bad in (
            participating(non_guaranteed_basis=None),
            participating(non_guaranteed_benefits=[]),
            disclosed_product(max_illustrated_rate="4.00"),
            participating(max_illustrated_rate=3.5),
        ):
            response = await api.post(PRODUCTS, json=product_body(**bad), headers=people.admin.headers)
            assert_problem(response, 422)
        assert await counts(stack) == before

    async def test_a_revision_shows_the_disclosure_of_each_product(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        disclosure = proposal["revisions"][0]["items"][0]["disclosure"]
        assert disclosure["exclusions"] == ["投保前已患疾病", "社保外用药"]
        assert disclosure["waiting_days"] == 90
        assert disclosure["to_acknowledge"] == ["exclusions", "waiting_period"]
        assert disclosure["disclosure_version"] == 1


class TestIllustratedReturns:
    async def test_within_the_cap_is_shown(self, api: httpx.AsyncClient, people: People) -> None:
        product = await create_product(api, people.admin, **participating())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product, illustrated_rate="3.50"))
        assert proposal["revisions"][0]["items"][0]["illustrated_rate"] == "3.50"

    async def test_above_the_cap_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **participating())
        client = await create_client(api, people.agent)
        before = await counts(stack)
        response = await api.post(
            PROPOSALS,
            json={"client_id": client["id"], "items": [_item(product, illustrated_rate="5.00")]},
            headers=people.agent.headers,
        )
        problem = assert_problem(response, 422, field="items.0.illustrated_rate")
        assert "3.50" in problem["detail"]
        assert await counts(stack) == before

    async def test_a_product_without_a_cap_illustrates_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        before = await counts(stack)
        response = await api.post(
            PROPOSALS,
            json={"client_id": client["id"], "items": [_item(product, illustrated_rate="1.00")]},
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="items.0.illustrated_rate")
        assert await counts(stack) == before


class TestAcknowledgmentBeforeAcceptance:
    async def test_acceptance_without_acknowledgments_is_409_naming_what_is_missing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product(name="安心重疾 A"))
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        before = await counts(stack)
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/accept", json={"revision": 1}, headers=if_match(people.agent, 1)
        )
        problem = assert_problem(response, 409)
        assert problem["type"].endswith("/compliance-incomplete")
        assert problem["missing"] == [
            "acknowledgment:安心重疾 A:exclusions",
            "acknowledgment:安心重疾 A:waiting_period",
        ]
        assert await counts(stack) == before
        again = await api.get(f"{PROPOSALS}/{proposal['id']}", headers=people.agent.headers)
        assert again.json()["status"] == "open"

    async def test_each_acknowledgment_records_who_when_channel_and_version(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        response = await _ack(api, people.agent, proposal, product)
        assert response.status_code == 201, response.text
        [ack] = response.json()["revisions"][0]["acknowledgments"]
        assert ack["item"] == "exclusions"
        assert ack["channel"] == "video"
        assert ack["disclosure_version"] == 1
        assert ack["recorded_by"]
        assert ack["acknowledged_at"]

    async def test_with_every_acknowledgment_the_plan_is_accepted(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        accepted = await accept(api, people.agent, proposal)
        assert accepted["status"] == "accepted"
        assert len(accepted["revisions"][0]["acknowledgments"]) == 2

    async def test_an_old_disclosure_version_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        changed = await api.patch(
            f"{PRODUCTS}/{product['id']}",
            json={"exclusions": ["投保前已患疾病"]},
            headers=if_match(people.admin, product["version"]),
        )
        assert changed.json()["disclosure_version"] == 2
        before = await counts(stack)
        response = await _ack(api, people.agent, proposal, product, disclosure_version=1)
        problem = assert_problem(response, 422, field="disclosure_version")
        assert "version 2" in problem["detail"]
        assert await counts(stack) == before

    async def test_an_acknowledgment_made_before_a_change_no_longer_counts(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product(waiting_days=0))
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        assert (await _ack(api, people.agent, proposal, product)).status_code == 201
        changed = await api.patch(
            f"{PRODUCTS}/{product['id']}",
            json={"exclusions": ["酒后驾驶"]},
            headers=if_match(people.admin, product["version"]),
        )
        assert changed.status_code == 200
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/accept", json={"revision": 1}, headers=if_match(people.agent, 1)
        )
        assert assert_problem(response, 409)["missing"] == [f"acknowledgment:{product['name']}:exclusions"]

    async def test_an_item_the_product_does_not_disclose_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        before = await counts(stack)
        response = await _ack(api, people.agent, proposal, product, item="non_guaranteed_benefits")
        assert_problem(response, 422, field="item")
        other = await create_product(api, people.admin, **disclosed_product())
        before = await counts(stack)
        response = await _ack(api, people.agent, proposal, other)
        assert_problem(response, 422, field="product_id")
        response = await _ack(api, people.agent, proposal, product, channel="carrier_pigeon")
        assert_problem(response, 422, field="channel")
        assert await counts(stack) == before


class TestInformedChoices:
    async def _wealth_first(
        self, api: httpx.AsyncClient, people: People
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A savings-only plan while the breadwinner is uncovered: protection before wealth."""
        annuity = await create_product(api, people.admin, **participating(exclusions=[]))
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(annuity))
        return proposal, annuity

    async def test_a_warning_unresolved_blocks_acceptance(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        proposal, annuity = await self._wealth_first(api, people)
        await _ack(api, people.agent, proposal, annuity, item="non_guaranteed_benefits")
        before = await counts(stack)
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/accept", json={"revision": 1}, headers=if_match(people.agent, 1)
        )
        problem = assert_problem(response, 409)
        item_id = proposal["revisions"][0]["items"][0]["id"]
        assert problem["missing"] == [f"informed_choice:protection_before_wealth@{item_id}"]
        assert await counts(stack) == before

    async def test_an_override_without_a_reason_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        proposal, _ = await self._wealth_first(api, people)
        item_id = proposal["revisions"][0]["items"][0]["id"]
        before = await counts(stack)
        for reason in (None, "", "   "):
            body: dict[str, Any] = {
                "revision": 1,
                "finding_code": "protection_before_wealth",
                "item_id": item_id,
                "channel": "in_person",
            }
            if reason is not None:
                body["reason"] = reason
            response = await api.post(
                f"{PROPOSALS}/{proposal['id']}/informed-choices", json=body, headers=people.agent.headers
            )
            assert_problem(response, 422, field="reason")
        assert await counts(stack) == before

    async def test_a_finding_the_revision_does_not_have_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        proposal, _ = await self._wealth_first(api, people)
        before = await counts(stack)
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/informed-choices",
            json={
                "revision": 1,
                "finding_code": "adults_before_children",
                "reason": "x",
                "channel": "remote",
            },
            headers=people.agent.headers,
        )
        assert_problem(response, 422, field="finding_code")
        assert await counts(stack) == before

    async def test_age_limits_stay_blocking(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, max_insured_age=30)
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        finding = proposal["revisions"][0]["findings"][0]
        assert finding["code"] == "outside_age_limits"
        before = await counts(stack)
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/informed-choices",
            json={
                "revision": 1,
                "finding_code": "outside_age_limits",
                "item_id": finding["item_id"],
                "reason": "客户坚持",
                "channel": "in_person",
            },
            headers=people.agent.headers,
        )
        assert "cannot be overridden" in assert_problem(response, 422, field="finding_code")["detail"]
        assert await counts(stack) == before

    async def test_the_informed_choice_lets_the_plan_through_and_the_lead_reads_it(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        proposal, _ = await self._wealth_first(api, people)
        current = await satisfy_acceptance(api, people.agent, proposal, 1)
        [choice] = current["revisions"][0]["informed_choices"]
        assert choice["reason"] == "客户知情并坚持此方案"
        response = await api.post(
            f"{PROPOSALS}/{proposal['id']}/accept",
            json={"revision": 1},
            headers=if_match(people.agent, current["version"]),
        )
        assert response.status_code == 200, response.text
        report = await api.get("/api/v1/policies/compliance/findings", headers=people.lead.headers)
        assert report.status_code == 200, report.text
        [override] = report.json()["overrides"]
        assert override["proposal_id"] == proposal["id"]
        assert override["owner_agent_id"] == str(people.agent.user_id)
        assert override["choices"][0]["finding_code"] == "protection_before_wealth"
        assert override["choices"][0]["reason"] == "客户知情并坚持此方案"
        outsider_lead = await api.get("/api/v1/policies/compliance/findings", headers=people.agent.headers)
        assert_problem(outsider_lead, 403)


class TestAcknowledgmentEdges:
    async def test_a_future_moment_and_a_closed_proposal_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        before = await counts(stack)
        future = await _ack(api, people.agent, proposal, product, acknowledged_at="2999-01-01T10:00:00+08:00")
        assert_problem(future, 422)
        assert await counts(stack) == before
        accepted = await accept(api, people.agent, proposal)
        before = await counts(stack)
        late = await _ack(api, people.agent, accepted, product, item="waiting_period")
        assert_problem(late, 409)
        assert await counts(stack) == before

    async def test_another_agents_proposal_is_not_found(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin, **disclosed_product())
        client = await create_client(api, people.agent)
        proposal = await _propose(api, people.agent, client["id"], _item(product))
        before = await counts(stack)
        assert_problem(await _ack(api, people.outsider, proposal, product), 404)
        assert await counts(stack) == before
