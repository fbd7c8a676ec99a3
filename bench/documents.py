"""Documents (issue 20): upload and download throughput of a 5 MB PDF on both backends (local files,
S3 through moto's standalone server), and the memory of the stack while a 50 MB file streams in
and out. ``python -m bench.documents``; needs ``CRM_TEST_DATABASE_URL`` (a server to make a
throwaway database on) and, for S3, ``uv`` (moto runs isolated, as in tests/test_documents_s3.py).

The apps run in this process (as in the tests). Uploads go through the gateway (its proxy streams
request bodies); downloads are read from the documents app by a raw ASGI call that drops each
chunk, so no client buffer is counted. Memory: RSS of the process before, after and at its peak
(sampled every 5 ms), and the peak of Python allocations (tracemalloc) during each 50 MB transfer.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import psutil

from crmkit.auth import Role, issue_access_token
from crmkit.migrations import upgrade_to_head
from crmkit.testing import MeshTransport
from launcher.apps import ALL_APPS, ROOT

MB = 1_048_576
BOUNDARY = "benchboundary7c1f"


def pdf_of(size: int) -> bytes:
    head = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%"
    return head + os.urandom(size - len(head) - 7) + b"\n%%EOF\n"


def multipart_stream(content: bytes, chunk: int = 64 * 1024) -> tuple[AsyncIterator[bytes], int]:
    start = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    end = f"\r\n--{BOUNDARY}--\r\n".encode()

    async def gen() -> AsyncIterator[bytes]:
        yield start
        view = memoryview(content)
        for i in range(0, len(content), chunk):
            yield bytes(view[i : i + chunk])
        yield end

    return gen(), len(start) + len(content) + len(end)


class RssSampler:
    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self.before = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = self.process.memory_info().rss


async def upload(api: httpx.AsyncClient, headers: dict[str, str], client_id: str, content: bytes) -> str:
    body, length = multipart_stream(content)
    response = await api.post(
        "/api/v1/documents",
        params={"record_type": "client", "record_id": client_id, "kind": "contract"},
        content=body,
        headers={
            **headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(length),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def download_dropping(app: Any, token: str, document_id: str) -> int:
    """GET the content from ``app`` with a raw ASGI call; count the bytes, keep none. Downloads go
    to the documents app itself: the in-process mesh (httpx.ASGITransport) between the gateway and
    a service collects a whole response before handing it on, which a real deployment (the
    gateway's aiohttp transport, streamed with ``aiter_raw``) does not."""
    received = 0
    status = 0

    asked = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await never.wait()  # the client stays connected; the response's disconnect watcher waits
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal received, status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            received += len(message.get("body", b""))

    path = f"/api/v1/documents/{document_id}/content"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"documents.internal"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("documents.internal", 80),
        "root_path": "",
        "state": {},
    }
    await app(scope, receive, send)
    assert status == 200, status
    return received


async def measure(backend: str, overrides: dict[str, Any], database_url: str) -> dict[str, Any]:
    from tests.conftest import build_apps, running

    mesh = MeshTransport()
    apps = build_apps(database_url, mesh, documents_overrides=overrides)
    for name, app in apps.items():
        mesh.register(f"{name}.internal", app)
    results: dict[str, Any] = {"backend": backend}
    async with running(apps):
        gateway = apps["gateway"]
        agent = uuid.uuid4()
        token = issue_access_token(gateway.state.settings, user_id=agent, role=Role.AGENT, team_id=None)
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.internal", timeout=120
        ) as api:
            made = await api.post(
                "/api/v1/clients",
                json={"name": "基准客户", "channel": "warm_market"},
                headers=headers,
            )
            assert made.status_code == 201, made.text
            client_id = made.json()["id"]
            five = pdf_of(5 * MB)
            rounds = 5
            started = time.perf_counter()
            ids = [await upload(api, headers, client_id, five) for _ in range(rounds)]
            up = time.perf_counter() - started
            started = time.perf_counter()
            for document_id in ids:
                assert await download_dropping(apps["documents"], token, document_id) == len(five)
            down = time.perf_counter() - started
            results["upload_5mb_mb_per_s"] = round(rounds * 5 / up, 1)
            results["download_5mb_mb_per_s"] = round(rounds * 5 / down, 1)

            fifty = pdf_of(50 * MB)
            tracemalloc.start()
            with RssSampler() as rss:
                tracemalloc.reset_peak()
                big = await upload(api, headers, client_id, fifty)
                _, upload_peak = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                assert await download_dropping(apps["documents"], token, big) == len(fifty)
                _, download_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            results["stream_50mb"] = {
                "rss_before_mb": round(rss.before / MB, 1),
                "rss_peak_mb": round(rss.peak / MB, 1),
                "rss_after_mb": round(rss.after / MB, 1),
                "python_alloc_peak_upload_mb": round(upload_peak / MB, 1),
                "python_alloc_peak_download_mb": round(download_peak / MB, 1),
            }
    return results


async def measure_both(server: str) -> list[dict[str, Any]]:
    """Both backends on a database of their own; S3 against moto's server (skipped without it)."""
    name = f"crm_bench_docs_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        for spec in ALL_APPS:
            await asyncio.to_thread(upgrade_to_head, spec.migrations_dir, url)
        figures = [await measure("local", {}, url)]
        try:
            from tests.test_documents_s3 import moto_server

            with moto_server() as endpoint:
                s3 = {
                    "storage_backend": "s3",
                    "s3_endpoint_url": endpoint,
                    "s3_bucket": "crm-documents-bench",
                    "s3_access_key_id": "bench",
                    "s3_secret_access_key": "bench",
                    "s3_create_bucket": True,
                }
                figures.append(await measure("s3 (moto)", s3, url))
        except Exception as exc:  # no uv, no network for moto's first install
            figures.append({"backend": "s3 (moto)", "skipped": repr(exc)})
        return figures
    finally:
        conn = await asyncpg.connect(server)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def run(server_url: str) -> list[dict[str, Any]]:
    """For ``python -m bench``: the figures of both backends."""
    return asyncio.run(measure_both(server_url))


async def main() -> None:
    server = os.environ.get("CRM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    figures = await measure_both(server)
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "documents.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
