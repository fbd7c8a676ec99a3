"""The product catalogue: admins manage it, every signed-in agent reads it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import People, Stack
from tests.policies_support import PRODUCTS, assert_problem, count, create_product, if_match, product_body


class TestAdminManagesCatalogue:
    async def test_create_answers_201_with_defaults(self, api: httpx.AsyncClient, people: People) -> None:
        body = product_body(name="e生保百万医疗", category="million_medical", walls=["medical"])
        del body["cooling_off_days"]
        response = await api.post(PRODUCTS, json=body, headers=people.admin.headers)
        assert response.status_code == 201, response.text
        product = response.json()
        assert response.headers["location"] == f"{PRODUCTS}/{product['id']}"
        assert response.headers["etag"] == 'W/"1"'
        assert product["cooling_off_days"] == 15
        assert product["payment_years"] == [1, 10, 20, 30]
        assert product["active"] is True

    async def test_agents_read_but_cannot_write(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        product = await create_product(api, people.admin)
        listed = await api.get(
            PRODUCTS, params={"category": "critical_illness"}, headers=people.agent.headers
        )
        assert [p["id"] for p in listed.json()["items"]] == [product["id"]]
        refused = await api.post(PRODUCTS, json=product_body(), headers=people.agent.headers)
        assert_problem(refused, 403)
        assert await count(stack, "products") == 1

    async def test_ops_cannot_read_the_catalogue(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(PRODUCTS, headers=people.ops.headers), 403)

    async def test_update_needs_if_match_and_takes_off_the_shelf(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        product = await create_product(api, people.admin)
        path = f"{PRODUCTS}/{product['id']}"
        missing = await api.patch(path, json={"active": False}, headers=people.admin.headers)
        assert_problem(missing, 428)
        stale = await api.patch(path, json={"active": False}, headers=if_match(people.admin, 9))
        assert_problem(stale, 412)
        unchanged = (await api.get(path, headers=people.agent.headers)).json()
        assert (unchanged["active"], unchanged["version"]) == (True, 1)
        changed = await api.patch(path, json={"active": False}, headers=if_match(people.admin, 1))
        assert changed.status_code == 200, changed.text
        assert changed.json()["active"] is False
        assert changed.json()["version"] == 2

    async def test_pages_through_the_catalogue(self, api: httpx.AsyncClient, people: People) -> None:
        made = {(await create_product(api, people.admin))["id"] for _ in range(3)}
        first = (await api.get(PRODUCTS, params={"limit": 2}, headers=people.agent.headers)).json()
        second = (
            await api.get(
                PRODUCTS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=people.agent.headers
            )
        ).json()
        assert {p["id"] for p in first["items"] + second["items"]} == made
        assert second["next_cursor"] is None


class TestBadProducts:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"min_insured_age": 70, "max_insured_age": 60}, "body"),
            ({"cooling_off_days": 5}, "cooling_off_days"),
            ({"payment_years": [10, 10]}, "payment_years"),
            ({"category": "pet_insurance"}, "category"),
            ({"walls": []}, "body"),
            ({"version": 3}, "version"),
        ],
    )
    async def test_refused_with_nothing_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack, change: dict[str, object], field: str
    ) -> None:
        response = await api.post(PRODUCTS, json=product_body(**change), headers=people.admin.headers)
        assert_problem(response, 422, field=field)
        assert await count(stack, "products") == 0
        assert await count(stack, "audit_log") == 0

    async def test_duplicate_name_per_insurer_is_409(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = product_body(name="平安福")
        await create_product(api, people.admin, name="平安福")
        response = await api.post(PRODUCTS, json=body, headers=people.admin.headers)
        assert "already has a product named 平安福" in assert_problem(response, 409)["detail"]
        assert await count(stack, "products") == 1
        assert await count(stack, "audit_log") == 1  # the first product's creation only

    async def test_unknown_product_is_404(self, api: httpx.AsyncClient, people: People) -> None:
        assert_problem(await api.get(f"{PRODUCTS}/{uuid.uuid4()}", headers=people.agent.headers), 404)
