"""Every bad upload of issue 20 is a clear 4xx problem, with nothing stored: no row, no object in
storage (no orphan), no audit row. And a tampered object is a problem, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests import claims_support, clients_support
from tests.conftest import People, Stack
from tests.documents_support import (
    DOCUMENTS,
    EXECUTABLE,
    HTML_PAGE,
    assert_problem,
    count_documents,
    every_stored_object,
    params,
    pdf_bytes,
    stored_objects,
    upload,
    uploaded,
    zip_of,
)


async def assert_nothing_stored(stack: Stack) -> None:
    assert await count_documents(stack) == 0
    assert await every_stored_object(stack) == []
    audit = await stack.fetch("SELECT count(*) FROM documents.audit_log")
    assert audit[0][0] == 0


async def test_an_empty_file_is_422(api: httpx.AsyncClient, people: People, stack: Stack) -> None:
    client = await clients_support.create_client(api, people.agent)
    body = assert_problem(
        await upload(api, people.agent, params("client", client["id"], "id_copy"), content=b""), 422
    )
    assert "empty" in body["detail"]
    await assert_nothing_stored(stack)


async def test_a_file_over_its_types_limit_is_413(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    settings = stack.apps["documents"].state.settings
    original = settings.max_pdf_bytes
    settings.max_pdf_bytes = 200_000  # the limit is per type; a small one keeps the test quick
    try:
        response = await upload(
            api, people.agent, params("client", client["id"], "id_copy"), content=pdf_bytes(600_000)
        )
    finally:
        settings.max_pdf_bytes = original
    assert_problem(response, 413)
    await assert_nothing_stored(stack)


async def test_a_body_over_the_whole_upload_limit_is_413_at_the_gateway(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    limit = stack.apps["gateway"].state.settings.max_file_upload_bytes
    response = await api.post(
        DOCUMENTS,
        params=params("client", client["id"], "id_copy"),
        headers={**people.agent.headers, "Content-Type": "multipart/form-data; boundary=x"},
        content=b"x" * (limit + 1),
    )
    assert_problem(response, 413)
    await assert_nothing_stored(stack)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", EXECUTABLE),
        ("report.pdf", HTML_PAGE),
        ("notes.pdf", b"just some text\n" * 100),
        ("contract.docx", zip_of({"a.txt": "not a Word document"})),
        ("run.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 300),
    ],
    ids=["executable-renamed-pdf", "html-page-as-pdf", "plain-text", "plain-zip-as-docx", "elf-binary"],
)
async def test_content_outside_the_allow_list_is_415(
    api: httpx.AsyncClient, people: People, stack: Stack, name: str, content: bytes
) -> None:
    client = await clients_support.create_client(api, people.agent)
    response = await upload(
        api, people.agent, params("client", client["id"], "id_copy"), name=name, content=content
    )
    body = assert_problem(response, 415)
    assert body["errors"][0]["field"] == "file"
    await assert_nothing_stored(stack)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.pdf", "..\\..\\boot.ini.pdf", "/etc/cron.d/x.pdf", "C:evil.pdf"]
)
async def test_a_path_traversal_filename_is_422(
    api: httpx.AsyncClient, people: People, stack: Stack, name: str
) -> None:
    client = await clients_support.create_client(api, people.agent)
    response = await upload(api, people.agent, params("client", client["id"], "id_copy"), name=name)
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "filename"
    await assert_nothing_stored(stack)


async def test_an_upload_to_another_agents_claim_is_404(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    policy = await claims_support.issue_policy(api, people, people.agent)
    claim = await claims_support.report_claim(api, people.agent, policy["id"])
    item = claim["documents"][0]
    response = await upload(
        api, people.outsider, params("claim_document", item["id"], "diagnosis_certificate", claim["id"])
    )
    assert_problem(response, 404)
    await assert_nothing_stored(stack)
    after = await api.get(f"/api/v1/claims/{claim['id']}", headers=people.agent.headers)
    assert after.json()["documents"][0]["status"] == "missing"


async def test_an_unknown_record_or_missing_parent_is_refused(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    ghost = "00000000-0000-4000-8000-000000000001"
    assert_problem(await upload(api, people.agent, params("client", ghost, "id_copy")), 404)
    assert_problem(await upload(api, people.agent, params("claim_document", ghost, "other")), 422)
    assert_problem(await upload(api, people.agent, params("galaxy", ghost, "other")), 422)
    await assert_nothing_stored(stack)


async def test_a_body_without_a_file_part_is_refused(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    query = params("client", client["id"], "id_copy")
    wrong_field = await api.post(
        DOCUMENTS,
        params=query,
        files={"attachment": ("a.pdf", pdf_bytes(), "application/pdf")},
        headers=people.agent.headers,
    )
    assert_problem(wrong_field, 422)
    as_json = await api.post(DOCUMENTS, params=query, json={"file": "x"}, headers=people.agent.headers)
    assert_problem(as_json, 415)
    await assert_nothing_stored(stack)


async def test_a_tampered_object_is_a_409_problem_and_is_logged(
    api: httpx.AsyncClient, people: People, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    client = await clients_support.create_client(api, people.agent)
    created = await uploaded(
        api, people.agent, params("client", client["id"], "id_copy"), content=pdf_bytes(200_000)
    )
    storage = stack.apps["documents"].state.storage
    (key,) = await stored_objects(stack)
    raw = bytearray(b"".join([c async for c in storage.read(key)]))
    raw[150_000] ^= 0x01  # one bit flipped deep in the file
    writer = await storage.writer(key)
    await writer.write(bytes(raw))
    await writer.commit()

    with caplog.at_level("ERROR", logger="documents"):
        response = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    body = assert_problem(response, 409)
    assert body["type"].endswith("/document-integrity-failed")
    assert "integrity" in body["detail"]
    assert any("integrity" in r.getMessage() for r in caplog.records)
    # Not served is not downloaded: no download in the audit trail.
    actions = await stack.fetch(
        "SELECT action FROM documents.audit_log WHERE resource_id = $1", created["id"]
    )
    assert [a["action"] for a in actions] == ["document.uploaded"]


async def test_a_removed_object_is_the_same_integrity_problem(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    created = await uploaded(api, people.agent, params("client", client["id"], "id_copy"))
    storage = stack.apps["documents"].state.storage
    (key,) = await stored_objects(stack)
    await storage.delete(key)
    assert_problem(await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers), 409)


async def test_claims_down_means_nothing_stored(api: httpx.AsyncClient, people: People, stack: Stack) -> None:
    policy = await claims_support.issue_policy(api, people, people.agent)
    claim = await claims_support.report_claim(api, people.agent, policy["id"])
    item = claim["documents"][0]
    query = params("claim_document", item["id"], "diagnosis_certificate", claim["id"])
    stack.mesh.slow["claims.internal"] = 0.0
    original = stack.apps["documents"].state.peer_http

    class PatchFails(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "PATCH":
                raise httpx.ConnectError("connection refused", request=request)
            return await stack.mesh.handle_async_request(request)

    async with httpx.AsyncClient(transport=PatchFails()) as failing:
        stack.apps["documents"].state.peer_http = failing
        try:
            response = await upload(api, people.agent, query)
        finally:
            stack.apps["documents"].state.peer_http = original
    assert_problem(response, 503)
    await assert_nothing_stored(stack)
