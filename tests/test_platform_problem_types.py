"""Errors that teach: one problem ``type`` per meaning in every app, each described in docs/api.md
and served as a page of its own; malformed JSON and wrong content types explained."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from crmkit.problems import PROBLEM_TYPES, ProblemError, problem_type
from gateway.problem_pages import problem_sections
from tests.conftest import People, Stack
from tests.test_gateway_auth import assert_problem

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "api.md"
SOURCES = [p for folder in ("crmkit", "services", "gateway") for p in (ROOT / folder).rglob("*.py")]
# A slug written in the code: ``slug = "x"``, ``slug="x"``, ``problem_kind("x", ...)``, or the last of
# ``status, title, slug = 409, "...", "x"``.
SLUG_LITERALS = (
    re.compile(r"""\bslug\s*=\s*["']([a-z0-9-]+)["']"""),
    re.compile(r"""problem_kind\(\s*["']([a-z0-9-]+)["']"""),
    re.compile(r"""status, title, slug = \d+, "[^"]*", "([a-z0-9-]+)"$""", re.M),
    re.compile(r"""^\s+\d{3}: \("[^"]+", "([a-z0-9-]+)"\),$""", re.M),
)


def slugs_in_code() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        for pattern in SLUG_LITERALS:
            for slug in pattern.findall(text):
                found.setdefault(slug, source)
    return found


class TestOneTypePerMeaning:
    def test_every_slug_in_the_code_is_registered(self, stack: Stack) -> None:
        # ``stack`` built all five apps, so every module that defines a problem has registered it.
        in_code = slugs_in_code()

        assert len(in_code) >= 25
        unregistered = {slug: str(path) for slug, path in in_code.items() if slug not in PROBLEM_TYPES}
        assert unregistered == {}

    def test_every_problem_type_the_api_can_emit_is_in_the_guide(self, stack: Stack) -> None:
        documented = problem_sections()

        missing = sorted(set(PROBLEM_TYPES) - set(documented))
        assert missing == [], f"describe these in docs/api.md under '## Problem types': {missing}"
        stale = sorted(set(documented) - set(PROBLEM_TYPES) - set(slugs_in_code()))
        assert stale == [], f"docs/api.md describes types no app emits: {stale}"

    def test_each_section_states_the_status_of_its_type(self, stack: Stack) -> None:
        for slug, kind in PROBLEM_TYPES.items():
            text = " ".join(problem_sections()[slug]).strip()
            assert text.startswith(f"{kind.status}."), (slug, text[:40])

    def test_each_type_has_one_title_and_one_status(self, stack: Stack) -> None:
        def subclasses(cls: type[ProblemError]) -> list[type[ProblemError]]:
            return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

        errors = subclasses(ProblemError)
        assert len(errors) >= 40
        for error in errors:
            kind = PROBLEM_TYPES[error.slug]
            assert (error.title, error.status) == (kind.title, kind.status), error

    def test_retired_duplicates_are_gone(self, stack: Stack) -> None:
        for retired in ("client-not-found", "not-csv", "idempotency-key-refused", "dependency-unavailable"):
            assert retired not in PROBLEM_TYPES
            assert retired not in slugs_in_code()


class TestTypePages:
    async def test_every_type_uri_resolves_to_a_page_of_its_own(
        self, api: httpx.AsyncClient, stack: Stack
    ) -> None:
        index = await api.get("/problems")
        assert index.status_code == 200

        for slug in PROBLEM_TYPES:
            uri = problem_type(slug)
            assert f'href="{uri}"' in index.text
            page = await api.get(uri)
            assert page.status_code == 200, slug
            assert page.headers["content-type"].startswith("text/html")
            assert f"<code>{slug}</code>" in page.text
            assert str(PROBLEM_TYPES[slug].status) in page.text

    async def test_a_type_in_an_answer_resolves(self, api: httpx.AsyncClient, people: People) -> None:
        body = assert_problem(
            await api.get(f"/api/v1/clients/{uuid.uuid4()}", headers=people.agent.headers), 404
        )

        assert body["type"] == "/problems/not-found"
        assert (await api.get(str(body["type"]))).status_code == 200

    async def test_an_unknown_type_is_a_404_problem(self, api: httpx.AsyncClient) -> None:
        body = assert_problem(await api.get("/problems/no-such-thing"), 404)

        assert body["type"] == "/problems/not-found"


class TestSameShapeEverywhere:
    async def test_the_api_key_401_is_shaped_like_every_other_401(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        by_key = await api.get("/api/v1/clients", headers={"X-API-Key": "crm_" + "x" * 40})
        by_token = await api.get("/api/v1/clients", headers={"Authorization": "Bearer nonsense"})
        on_a_view = await api.get("/api/v1/agenda", headers={"X-API-Key": "crm_" + "x" * 40})

        bodies = [assert_problem(r, 401) for r in (by_key, by_token, on_a_view)]
        assert {b["type"] for b in bodies} == {"/problems/unauthorized"}
        assert [list(b) for b in bodies] == [list(bodies[1])] * 3
        assert by_key.content.startswith(b'{"type":"/problems/unauthorized","title":"Not authenticated"')
        assert by_key.content.startswith(by_token.content[:60])
        assert by_key.headers["www-authenticate"] == on_a_view.headers["www-authenticate"] == "ApiKey"
        assert by_key.headers["content-type"] == by_token.headers["content-type"]

    async def test_the_overview_404_is_the_one_not_found_type(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.get(f"/api/v1/clients/{uuid.uuid4()}/overview", headers=people.agent.headers)

        body = assert_problem(response, 404)
        assert body["type"] == "/problems/not-found"
        assert body["title"] == "Not found"

    async def test_a_wrong_import_type_is_the_one_unsupported_media_type(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(
            "/api/v1/clients/imports?dry_run=false",
            json={"rows": []},
            headers={**people.agent.headers, "Idempotency-Key": "i-1"},
        )

        body = assert_problem(response, 415)
        assert body["type"] == "/problems/unsupported-media-type"
        assert "text/csv" in response.headers["accept"]
        assert await stack.fetch("SELECT id FROM clients.import_jobs") == []


class TestMalformedJson:
    async def test_line_and_column_are_named_and_json_is_asked_for(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        body = b'{\n  "name": "\xe5\xbc\xa0\xe4\xb8\x89",\n  "channel": \n}'
        response = await api.post(
            "/api/v1/clients",
            content=body,
            headers={**people.agent.headers, "Content-Type": "application/json"},
        )

        problem = assert_problem(response, 400)
        assert problem["type"] == "/problems/malformed-body"
        assert problem["errors"] == [
            {
                "field": "body",
                "message": "the body must be JSON; malformed at line 4, column 1: Expecting value",
            }
        ]
        assert "line 4, column 1" in str(problem["detail"])
        assert await stack.fetch("SELECT id FROM clients.clients") == []

    async def test_a_one_line_body_names_its_column(self, api: httpx.AsyncClient, people: People) -> None:
        response = await api.post(
            "/api/v1/clients",
            content=b'{"name": "x", "channel": cold}',
            headers={**people.agent.headers, "Content-Type": "application/json"},
        )

        problem = assert_problem(response, 400)
        assert problem["errors"][0]["field"] == "body"  # type: ignore[index]
        assert "line 1, column 26" in problem["errors"][0]["message"]  # type: ignore[index]


class TestWrongContentType:
    async def test_a_form_encoded_sign_in_is_415_naming_json(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        response = await api.post("/api/v1/auth/token", data={"email": people.agent.email, "password": "x"})

        problem = assert_problem(response, 415)
        assert problem["type"] == "/problems/unsupported-media-type"
        assert response.headers["accept"] == "application/json"
        assert "application/x-www-form-urlencoded" in str(problem["detail"])
        assert "must be JSON" in str(problem["detail"])

    async def test_json_sent_as_text_is_415_and_nothing_is_stored(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        response = await api.post(
            "/api/v1/clients",
            content=b'{"name": "x", "channel": "cold"}',
            headers={**people.agent.headers, "Content-Type": "text/plain", "Idempotency-Key": "t-1"},
        )

        assert_problem(response, 415)
        assert response.headers["accept"] == "application/json"
        assert await stack.fetch("SELECT id FROM clients.clients") == []
        assert await stack.fetch("SELECT key FROM clients.idempotency_keys") == []

    async def test_json_with_a_charset_or_a_json_suffix_is_accepted(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
            response = await api.post(
                "/api/v1/clients",
                content=b'{"name": "x", "channel": "cold"}',
                headers={**people.agent.headers, "Content-Type": content_type},
            )
            assert response.status_code == 201, (content_type, response.text)

    async def test_a_missing_field_in_json_is_still_a_422(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        body = assert_problem(await api.post("/api/v1/clients", json={}, headers=people.agent.headers), 422)

        assert body["type"] == "/problems/validation-error"


class TestWithoutTheGuide:
    def test_the_registry_still_gives_each_type_a_page(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from gateway import problem_pages

        monkeypatch.setattr(problem_pages, "GUIDE", ROOT / "docs" / "no-such-guide.md")
        problem_pages.problem_sections.cache_clear()
        try:
            page = problem_pages.problem_page("precondition-failed")
        finally:
            problem_pages.problem_sections.cache_clear()

        assert b"412. Precondition failed." in page.body
