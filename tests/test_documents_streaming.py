"""Uploads and downloads stream (issue 20): a 24 MB file passes through the gateway and the
documents service, and back out of the service, without either holding it — the Python
allocations at the peak stay a small fraction of the file. (The download is read from the
documents app itself: the in-process mesh between gateway and service collects a whole response,
which the gateway's real transport does not; see bench/documents.py.)"""

from __future__ import annotations

import tracemalloc

import httpx

from bench.documents import BOUNDARY, download_dropping, multipart_stream
from tests import clients_support
from tests.conftest import People, Stack
from tests.documents_support import DOCUMENTS, pdf_bytes

MB = 1_048_576
SIZE = 24 * MB
CEILING = 8 * MB
"""Well under the file: a buffered file would show at least its own size at the peak."""


async def test_a_24_mb_file_streams_in_and_out(api: httpx.AsyncClient, people: People, stack: Stack) -> None:
    client = await clients_support.create_client(api, people.agent)
    content = pdf_bytes(SIZE)  # few CR bytes: python-multipart hands over long runs (quick under tracemalloc)
    body, length = multipart_stream(content)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        response = await api.post(
            DOCUMENTS,
            params={"record_type": "client", "record_id": client["id"], "kind": "contract"},
            content=body,
            headers={
                **people.agent.headers,
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            },
        )
        _, upload_peak = tracemalloc.get_traced_memory()
        assert response.status_code == 201, response.text
        tracemalloc.reset_peak()
        received = await download_dropping(stack.apps["documents"], people.agent.token, response.json()["id"])
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == SIZE
    assert upload_peak - baseline < CEILING, f"upload peaked at {upload_peak / MB:.1f} MiB"
    assert download_peak - baseline < CEILING, f"download peaked at {download_peak / MB:.1f} MiB"


async def test_a_chunked_upload_without_a_length_passes_the_gateway(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    content = pdf_bytes(3 * MB)
    body, _ = multipart_stream(content)
    response = await api.post(
        DOCUMENTS,
        params={"record_type": "client", "record_id": client["id"], "kind": "contract"},
        content=body,  # no Content-Length: Transfer-Encoding: chunked
        headers={**people.agent.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == len(content)
