"""The merged /openapi.json as integrators' generators read it (issue 15, item 1): valid OpenAPI 3.1,
unique schema names and titles, short unique operationIds, the conventions declared (Idempotency-Key,
a required If-Match), money as a string with a pattern, the CSV import as a byte body."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from crmkit.openapi import OPERATION_ID, name_twins
from gateway.openapi_merge import merge_documents
from tests.conftest import Stack

METHODS = ("get", "put", "post", "delete", "patch")
MONEY_NAMES = re.compile(r"(amount|premium|sum_insured|surrender_value)$")


async def merged(stack: Stack, api: httpx.AsyncClient) -> dict[str, Any]:
    stack.apps["gateway"].state.openapi_merger.forget()
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert "x-unavailable-services" not in document["info"]
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


class TestTheDocument:
    async def test_is_valid_openapi_3_1(self, stack: Stack, api: httpx.AsyncClient) -> None:
        document = await merged(stack, api)
        assert document["openapi"].startswith("3.1")
        validate(document)

    async def test_schema_titles_are_unique_and_are_the_names(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        schemas = (await merged(stack, api))["components"]["schemas"]
        titles = Counter(schema.get("title") for schema in schemas.values())
        assert [title for title, n in titles.items() if n > 1] == []
        assert [name for name in schemas if "-" in name] == []  # no X-Input / X-Output twins
        assert "AgendaLists" not in schemas or schemas["AgendaLists"]["title"] == "AgendaLists"
        assert schemas["PoliciesAgendaLists"]["title"] == "PoliciesAgendaLists"

    async def test_operation_ids_are_short_unique_and_in_one_scheme(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        found = operations(await merged(stack, api))
        ids = [operation["operationId"] for _, _, operation in found]
        assert len(ids) == len(set(ids)) > 150
        assert [i for i in ids if not OPERATION_ID.match(i) or len(i) > 40] == []
        by_path = {(method, path): operation["operationId"] for method, path, operation in found}
        assert by_path["get", "/api/v1/clients"] == "clients_list"
        assert by_path["post", "/api/v1/clients"] == "clients_create"
        assert (
            by_path["post", "/api/v1/policies/applications/{application_id}/submit"] == "applications_submit"
        )
        assert by_path["get", "/api/v1/claims/export"] == "claims_export"

    async def test_every_post_but_credential_minting_ones_declares_idempotency_key(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        for method, path, operation in operations(await merged(stack, api)):
            keys = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
            refused = operation.get("x-mints-credentials") or operation.get("x-never-replayed")
            if method == "post" and not refused:
                assert len(keys) == 1, path
                assert keys[0]["in"] == "header"
                assert keys[0]["schema"] == {**keys[0]["schema"], "type": "string", "maxLength": 255}
            else:
                assert keys == [], (method, path)

    async def test_the_reveal_does_not_offer_idempotency_key(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        """It refuses the header (its answer is never stored), so the document must not offer it."""
        document = await merged(stack, api)
        reveal = document["paths"]["/api/v1/clients/{client_id}/reveal"]["post"]
        assert reveal.get("x-never-replayed") is True
        assert [p for p in reveal.get("parameters", []) if p["name"] == "Idempotency-Key"] == []

    async def test_if_match_is_a_required_string(self, stack: Stack, api: httpx.AsyncClient) -> None:
        declared = [
            parameter
            for _, _, operation in operations(await merged(stack, api))
            for parameter in operation.get("parameters", [])
            if parameter["name"] == "If-Match"
        ]
        assert len(declared) > 40
        assert all(p["required"] is True and p["schema"]["type"] == "string" for p in declared)

    async def test_money_is_a_string_with_a_pattern_everywhere(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        schemas = (await merged(stack, api))["components"]["schemas"]
        money = [
            (name, field, prop)
            for name, schema in schemas.items()
            for field, prop in schema.get("properties", {}).items()
            if MONEY_NAMES.search(field)
        ]
        assert len(money) > 20
        for name, field, prop in money:
            variants = [v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"]
            assert variants, (name, field)
            for variant in variants:
                assert variant.get("type") == "string", (name, field, prop)
                assert variant.get("pattern"), (name, field, prop)

    async def test_the_csv_import_takes_the_file_as_a_byte_body(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        document = await merged(stack, api)
        body = document["paths"]["/api/v1/clients/imports"]["post"]["requestBody"]
        assert body["required"] is True
        assert body["content"] == {"text/csv": {"schema": {"type": "string", "format": "binary"}}}
        report = document["paths"]["/api/v1/reports/business"]["get"]["responses"]["200"]["content"]
        assert report["text/csv"]["schema"]["type"] == "string"


class TestTheMerge:
    def test_a_renamed_schema_takes_its_new_name_as_its_title(self) -> None:
        own = {"paths": {}, "components": {"schemas": {"Lists": {"title": "Lists", "type": "object"}}}}
        theirs = {
            "paths": {},
            "components": {"schemas": {"Lists": {"title": "Lists", "type": "array", "items": {}}}},
        }
        document = merge_documents(own, {"claims": theirs})
        schemas = document["components"]["schemas"]
        assert schemas["ClaimsLists"]["title"] == "ClaimsLists"
        assert schemas["Lists"]["title"] == "Lists"

    def test_input_output_twins_become_one_name_each_and_refs_follow(self) -> None:
        document: dict[str, Any] = {
            "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Goal-Output"}}}}},
            "components": {
                "schemas": {
                    "Goal-Input": {"title": "Goal"},
                    "Goal-Output": {"title": "Goal"},
                    "Plan": {
                        "title": "Plan",
                        "discriminator": {"mapping": {"goal": "#/components/schemas/Goal-Input"}},
                    },
                }
            },
        }
        name_twins(document)
        schemas = document["components"]["schemas"]
        assert {name: schema["title"] for name, schema in schemas.items() if name != "Plan"} == {
            "GoalInput": "GoalInput",
            "Goal": "Goal",
        }
        assert schemas["Plan"]["discriminator"]["mapping"] == {"goal": "#/components/schemas/GoalInput"}
        assert document["paths"]["/x"]["get"]["responses"]["200"]["$ref"] == "#/components/schemas/Goal"


# The request bodies of the core flow carry a complete example (Swagger UI and ReDoc show it; generators
# put it in docstrings). Every example in the document must be valid against its own schema.
EXAMPLED_REQUESTS = (
    "LoginRequest",
    "UserCreate",
    "ApiKeyCreate",
    "SubscriptionCreate",
    "ClientCreate",
    "ConsentGiven",
    "TierScores",
    "InteractionCreate",
    "ComplaintCreate",
    "FamilyMemberCreate",
    "ClaimCreate",
    "ClaimMove",
    "DeviceCreate",
    "CheckCreate",
    "RepairClose",
)
# And the answers an integrator meets first: a token pair, a client, a problem.
EXAMPLED_RESPONSES = ("TokenPair", "ClientRead", "Problem")


class TestExamples:
    async def test_the_core_requests_carry_an_example(self, stack: Stack, api: httpx.AsyncClient) -> None:
        schemas = (await merged(stack, api))["components"]["schemas"]
        assert [name for name in EXAMPLED_REQUESTS if not schemas[name].get("examples")] == []

    async def test_the_first_answers_carry_an_example(self, stack: Stack, api: httpx.AsyncClient) -> None:
        schemas = (await merged(stack, api))["components"]["schemas"]
        assert [name for name in EXAMPLED_RESPONSES if not schemas[name].get("examples")] == []

    async def test_every_example_is_valid_against_its_schema(
        self, stack: Stack, api: httpx.AsyncClient
    ) -> None:
        document = await merged(stack, api)
        invalid: list[str] = []
        for name, schema in document["components"]["schemas"].items():
            # The schema by reference, next to the components its references point into.
            by_reference = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
            validator = OAS31Validator(by_reference)
            for example in schema.get("examples", []):
                invalid += [f"{name}: {error.message}" for error in validator.iter_errors(example)]
        assert invalid == []


async def test_moves_that_can_meet_a_rule_conflict_document_a_plain_problem_too(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    """Found by fuzzing: an acknowledgment on an accepted proposal answers 409 `rule-conflict`, which
    the document had as `IllegalTransitionProblem` only (its required fields missing)."""
    paths = (await merged(stack, api))["paths"]
    for path in (
        "/api/v1/policies/proposals/{proposal_id}/acknowledgments",
        "/api/v1/policies/proposals/{proposal_id}/informed-choices",
        "/api/v1/policies/proposals/{proposal_id}/accept",
    ):
        schema = paths[path]["post"]["responses"]["409"]["content"]["application/problem+json"]["schema"]
        refs = {variant.get("$ref", "").rsplit("/", 1)[-1] for variant in schema.get("anyOf", [schema])}
        assert {"IllegalTransitionProblem", "Problem"} <= refs, (path, schema)
