"""What a newcomer meets first: the index pages, the docs (offline), the banner's URLs, and paths
that end in a slash (never a redirect, never an internal address)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from gateway.main import create_app
from gateway.proxy import public_location
from launcher.__main__ import banner
from launcher.apps import ALL_APPS
from launcher.config import LauncherConfig
from launcher.processes import Child
from tests.conftest import People, Stack, running
from tests.test_gateway_auth import assert_problem

INTERNAL = re.compile(r"\.internal|127\.0\.0\.1|localhost")
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[\w.-]+""")
TEMPLATE_PARAMETER = re.compile(r"\{[^}]+\}")


class TestIndex:
    @pytest.mark.parametrize("path", ["/", "/api/v1", "/api/v1/"])
    async def test_the_front_pages_link_the_docs_and_the_document(
        self, api: httpx.AsyncClient, path: str
    ) -> None:
        response = await api.get(path)

        assert response.status_code == 200, response.text
        links = response.json()["links"]
        assert links["docs"] == "/docs"
        assert links["redoc"] == "/redoc"
        assert links["openapi"] == "/openapi.json"
        for link in links.values():
            if link.startswith("/api/v1/auth/"):
                continue  # sign-in is a POST
            assert (await api.get(link)).status_code == 200, link


class TestDocsOffline:
    @pytest.mark.parametrize("app", [spec.name for spec in ALL_APPS])
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    async def test_every_app_serves_its_docs_without_a_cdn(self, stack: Stack, app: str, page: str) -> None:
        async with stack.client(app) as client:
            response = await client.get(page)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/html")
            html = response.text
            assert ABSOLUTE_URL.search(html.replace("http://www.w3.org", "")) is None, html
            assets = re.findall(r"""(?:src|href)=["']?(/docs/assets/[^"'\s>]+)""", html)
            assert assets, html
            for asset in assets:
                served = await client.get(asset)
                assert served.status_code == 200, asset
                assert len(served.content) > 1000
                assert served.headers["cache-control"].startswith("public")
            assert '"/openapi.json"' in html or "'/openapi.json'" in html

    async def test_only_the_packaged_assets_are_served(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get("/docs/assets/..%2F..%2Fpyproject.toml"), 404)
        assert_problem(await api.get("/docs/assets/core.py"), 404)

    async def test_the_gateway_docs_read_the_merged_document(self, api: httpx.AsyncClient) -> None:
        html = (await api.get("/docs")).text
        document = (await api.get("/openapi.json")).json()

        assert "/openapi.json" in html
        assert any(path.startswith("/api/v1/devices") for path in document["paths"])


def _fake_child(spec: Any, url: str) -> Child:
    return cast(Child, SimpleNamespace(spec=spec, name=spec.name, url=url, pid=4242))


class TestBanner:
    async def test_every_url_the_banner_prints_answers(self, stack: Stack, tmp_path: Path) -> None:
        ports = {spec.name: spec.port for spec in ALL_APPS}
        config = LauncherConfig(data_dir=tmp_path, database_url=None, ports=ports)
        children = [_fake_child(spec, f"http://127.0.0.1:{ports[spec.name]}") for spec in ALL_APPS]
        text = banner(config, children, "embedded", "ready in 1 s", "loaded")
        shown = text.split("Demo accounts")[0]  # below: the accounts and a POST example
        by_port = {str(port): name for name, port in ports.items()}

        urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/[^\s)]*)", shown)
        assert len(urls) >= 10, shown
        for port, path in urls:
            async with stack.client(by_port[port]) as client:
                response = await client.get(path)
            assert response.status_code == 200, (port, path, response.text[:200])


def _example(template: str) -> str:
    return TEMPLATE_PARAMETER.sub(str(uuid.uuid4()), template)


class TestTrailingSlash:
    async def test_the_issue_case_is_a_404_naming_the_path(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get("/api/v1/clients/", headers=people.agent.headers)

        body = assert_problem(response, 404)
        assert "location" not in response.headers
        assert "/api/v1/clients (without the trailing slash)" in str(body["detail"])
        assert INTERNAL.search(response.text) is None

    async def test_every_path_with_a_slash_added_is_a_404_naming_the_path(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        document = (await api.get("/openapi.json")).json()
        prefixes = {"/".join(p.split("/")[:4]) for p in document["paths"] if p.startswith("/api/v1/")}
        assert {"/api/v1/clients", "/api/v1/policies", "/api/v1/claims", "/api/v1/devices"} <= prefixes
        assert {"/api/v1/auth", "/api/v1/users", "/api/v1/webhooks"} <= prefixes

        for template in document["paths"]:
            path = _example(template)
            for method in ("GET", "POST"):
                response = await api.request(method, path + "/", headers=people.admin.headers)
                assert response.status_code == 404, (method, path, response.text)
                assert "location" not in response.headers
                assert INTERNAL.search(response.text) is None
                assert f"the path is {path} " in response.json()["detail"], response.text

    async def test_a_path_that_exists_nowhere_is_a_plain_404(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        body = assert_problem(await api.get("/api/v1/clients/nothing/", headers=people.admin.headers), 404)

        assert "the path is" not in str(body["detail"])


class Redirecting(httpx.AsyncBaseTransport):
    """An upstream that answers with its own absolute address, as a misbehaving service might."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        location = f"http://clients.internal:8101{request.url.path.rstrip('/')}?limit=5"
        return httpx.Response(
            307, headers={"Location": location, "Content-Location": "http://10.0.0.7/x"}, request=request
        )


class TestUpstreamAddresses:
    def test_an_absolute_location_keeps_only_its_path_and_query(self) -> None:
        assert public_location(b"http://clients.internal:8101/api/v1/clients?a=1") == b"/api/v1/clients?a=1"
        assert public_location(b"//10.0.0.7/api/v1/claims") == b"/api/v1/claims"
        assert public_location(b"/api/v1/devices/abc") == b"/api/v1/devices/abc"

    async def test_the_gateway_never_repeats_an_upstream_address(self, stack: Stack, people: People) -> None:
        gateway = create_app(stack.apps["gateway"].state.settings, transport=Redirecting())
        async with running({"gateway": gateway}):
            transport = httpx.ASGITransport(app=gateway)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
                response = await client.get("/api/v1/clients/", headers=people.agent.headers)

        assert response.status_code == 307
        assert response.headers["location"] == "/api/v1/clients?limit=5"
        assert response.headers["content-location"] == "/x"
