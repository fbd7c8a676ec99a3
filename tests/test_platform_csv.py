"""Every CSV the API writes neutralises spreadsheet formulas (issue 14, finding 4; crmkit/csv.py).

The list below is every operation of the merged document that answers ``text/csv``, each with the
test that proves its cells are safe; a new CSV endpoint fails here until it is added with one."""

from __future__ import annotations

import httpx

from crmkit.csv import cell, document

COVERED = {
    "GET /api/v1/clients/export": "tests/test_clients_export.py",
    "GET /api/v1/claims/export": "tests/test_claims_export.py",
    "GET /api/v1/policies/export": "tests/test_policies_exports.py",
    # Through crmkit.csv.lines: row, field and our own messages.
    "GET /api/v1/clients/imports/{job_id}/errors": "tests/test_clients_import.py",
    # Keys are enum values (channels, statuses), never user text.
    "GET /api/v1/reports/business": "tests/test_gateway_views_report.py",
    # Months, agent ids, numbers and goal statuses: our own values, never user text.
    "GET /api/v1/performance/scorecards/agents/{agent_id}": "tests/test_scorecard_events.py",
    "GET /api/v1/performance/scorecards/team": "tests/test_scorecard_events.py",
}


async def test_every_csv_endpoint_is_covered(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    csv_operations = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and any("text/csv" in (r.get("content") or {}) for r in operation.get("responses", {}).values())
    }

    assert csv_operations == set(COVERED)


class TestTheCell:
    def test_owasp_formula_starts_get_a_quote(self) -> None:
        for dangerous in (
            "=cmd|' /C calc'!A0",
            '=HYPERLINK("http://x","y")',
            "+1+1",
            "-1+1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ):
            assert cell(dangerous) == "'" + dangerous

    def test_ordinary_text_numbers_and_dates_are_unchanged(self) -> None:
        assert cell("王芳") == "王芳"
        assert cell(-3) == "-3"  # our own numbers are never text
        assert cell(None) == ""

    def test_a_document_starts_with_a_bom_and_uses_crlf(self) -> None:
        assert document(["a"], [["=x"]]) == "\ufeffa\r\n'=x\r\n".encode()
