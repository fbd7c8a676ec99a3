"""Creating operations link to what can be done with the new record (OpenAPI links): generators show
them as follow-ups, and the fuzzer's stateful phase walks real records (issue 14, fuzzing)."""

from __future__ import annotations

from typing import Any

import httpx


async def _document(api: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get("/openapi.json")).json()
    return body


def _links(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (f"POST {path}", name): link
        for path, item in document["paths"].items()
        for name, link in item.get("post", {}).get("responses", {}).get("201", {}).get("links", {}).items()
    }


async def test_a_new_client_links_to_reading_changing_and_its_sub_resources(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    created = document["paths"]["/api/v1/clients"]["post"]["responses"]["201"]["links"]
    read = document["paths"]["/api/v1/clients/{client_id}"]["get"]["operationId"]
    change = document["paths"]["/api/v1/clients/{client_id}"]["patch"]["operationId"]

    assert created[read]["parameters"] == {"client_id": "$response.body#/id"}
    assert change in created
    assert document["paths"]["/api/v1/clients/{client_id}/complaints"]["post"]["operationId"] in created


async def test_a_nested_record_passes_its_parents_id_on(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    created = document["paths"]["/api/v1/clients/{client_id}/complaints"]["post"]["responses"]["201"]["links"]

    assert any(
        link["parameters"] == {"client_id": "$request.path.client_id", "complaint_id": "$response.body#/id"}
        for link in created.values()
    )


async def test_every_link_names_an_operation_of_the_document(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    operation_ids = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    links = _links(document)

    assert len(links) > 50
    assert {link["operationId"] for link in links.values()} <= operation_ids
    services = {source.split("/")[3] for source, _ in links}
    assert {"clients", "policies", "claims", "devices"} <= services
