"""The S3 backend against a real S3-protocol server process (moto's standalone server, pinned, run
isolated with ``uv tool run`` like the SDK generator: its pins need not match ours), through the
gateway: upload, download, tamper, refusals leave no object, delete."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from crmkit.testing import MeshTransport
from tests import clients_support
from tests.conftest import People, Stack, build_apps, running
from tests.documents_support import (
    DOCUMENTS,
    EXECUTABLE,
    assert_problem,
    every_stored_object,
    jpeg_with_gps,
    params,
    pdf_bytes,
    stored_objects,
    upload,
    uploaded,
)

MOTO = "moto[server]==5.2.5"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's standalone S3 server on a free port, for as long as the block runs."""
    uv = Path(sys.executable).parent / "uv"
    port = _free_port()
    command = [str(uv if uv.exists() else shutil.which("uv") or "uv"), "tool", "run", "--from", MOTO]
    process = subprocess.Popen(
        [*command, "moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("moto's S3 server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def s3_stack(database_url: str, s3_endpoint: str) -> AsyncIterator[Stack]:
    mesh = MeshTransport()
    apps = build_apps(
        database_url,
        mesh,
        documents_overrides={
            "storage_backend": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": "crm-documents-test",
            "s3_access_key_id": "testing",
            "s3_secret_access_key": "testing",
            "s3_create_bucket": True,
        },
    )
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app)
    async with running(apps):
        yield Stack(apps=apps, mesh=mesh, database_url=database_url)


@pytest_asyncio.fixture(loop_scope="session")
async def s3_api(s3_stack: Stack, stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    await stack.reset()
    for key in await every_stored_object(s3_stack):
        await s3_stack.apps["documents"].state.storage.delete(key)
    async with s3_stack.client("gateway") as client:
        yield client


async def test_a_5_mb_pdf_round_trips_through_s3(
    s3_api: httpx.AsyncClient, s3_stack: Stack, people: People
) -> None:
    assert s3_stack.apps["documents"].state.storage.name == "s3"
    client = await clients_support.create_client(s3_api, people.agent)
    content = pdf_bytes(5 * 1_048_576 + 12_345)  # under one 8 MiB part: a single PUT
    created = await uploaded(
        s3_api, people.agent, params("client", client["id"], "contract"), content=content
    )
    download = await s3_api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert download.status_code == 200
    assert download.content == content
    (key,) = await stored_objects(s3_stack)
    rows = await s3_stack.fetch("SELECT object_key, storage_backend FROM documents.documents")
    assert rows[0]["object_key"] == key
    assert rows[0]["storage_backend"] == "s3"


async def test_a_multipart_upload_to_s3(s3_api: httpx.AsyncClient, s3_stack: Stack, people: People) -> None:
    client = await clients_support.create_client(s3_api, people.agent)
    content = pdf_bytes(19 * 1_048_576)  # three S3 parts of 8 MiB, 8 MiB and the rest
    created = await uploaded(
        s3_api, people.agent, params("client", client["id"], "contract"), content=content
    )
    download = await s3_api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert download.content == content


async def test_an_image_and_its_thumbnail_on_s3(
    s3_api: httpx.AsyncClient, s3_stack: Stack, people: People
) -> None:
    client = await clients_support.create_client(s3_api, people.agent)
    created = await uploaded(
        s3_api,
        people.agent,
        params("client", client["id"], "id_copy"),
        name="a.jpg",
        content=jpeg_with_gps(),
        content_type="image/jpeg",
    )
    assert len(await every_stored_object(s3_stack)) == 2  # the photo and its preview
    thumb = await s3_api.get(f"{DOCUMENTS}/{created['id']}/thumbnail", headers=people.agent.headers)
    assert thumb.status_code == 200


async def test_refusals_leave_no_object_in_the_bucket(
    s3_api: httpx.AsyncClient, s3_stack: Stack, people: People
) -> None:
    client = await clients_support.create_client(s3_api, people.agent)
    query = params("client", client["id"], "id_copy")
    assert_problem(await upload(s3_api, people.agent, query, content=EXECUTABLE), 415)
    assert_problem(await upload(s3_api, people.agent, query, content=b""), 422)
    settings = s3_stack.apps["documents"].state.settings
    original = settings.max_pdf_bytes
    settings.max_pdf_bytes = 9 * 1_048_576  # past the first 8 MiB part: the multipart upload is aborted
    try:
        assert_problem(await upload(s3_api, people.agent, query, content=pdf_bytes(12 * 1_048_576)), 413)
    finally:
        settings.max_pdf_bytes = original
    assert await every_stored_object(s3_stack) == []
    storage = s3_stack.apps["documents"].state.storage
    pending = await storage.client.list_multipart_uploads(Bucket=storage.bucket)
    assert pending.get("Uploads", []) == []
    assert (await s3_stack.fetch("SELECT count(*) FROM documents.documents"))[0][0] == 0


async def test_a_tampered_s3_object_is_refused(
    s3_api: httpx.AsyncClient, s3_stack: Stack, people: People
) -> None:
    client = await clients_support.create_client(s3_api, people.agent)
    created = await uploaded(s3_api, people.agent, params("client", client["id"], "id_copy"))
    storage = s3_stack.apps["documents"].state.storage
    (key,) = await stored_objects(s3_stack)
    raw = bytearray(b"".join([c async for c in storage.read(key)]))
    raw[-1] ^= 0xFF
    await storage.put(key, bytes(raw))
    body = assert_problem(
        await s3_api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers), 409
    )
    assert body["type"].endswith("/document-integrity-failed")
