"""CSV import of clients: dry run, the real import as a job, and the files refused outright."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.clients.imports import reading
from services.clients.imports.jobs import sweep_interrupted
from tests.clients_support import (
    CLIENTS,
    assert_problem,
    count_audit,
    count_clients,
    count_rows,
    create_client,
    resident_id,
    wrong_check_digit,
)
from tests.conftest import People, Person, Stack

IMPORTS = f"{CLIENTS}/imports"
CSV = {"Content-Type": "text/csv"}


async def upload(
    api: httpx.AsyncClient,
    person: Person,
    content: bytes | str,
    *,
    content_type: str = "text/csv",
    **params: Any,
) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return await api.post(
        IMPORTS, content=body, params=params, headers={**person.headers, "Content-Type": content_type}
    )


async def finished(api: httpx.AsyncClient, person: Person, job_id: str) -> dict[str, Any]:
    """Poll the job until it is no longer running (the job runs in this event loop)."""
    for _ in range(600):
        response = await api.get(f"{IMPORTS}/{job_id}", headers=person.headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("the import job did not finish")


async def stored_counts(stack: Stack) -> dict[str, int]:
    """Everything an import could store."""
    return {
        "clients": await count_clients(stack),
        "consents": await count_rows(stack, "consents"),
        "import_jobs": await count_rows(stack, "import_jobs"),
        "import_row_errors": await count_rows(stack, "import_row_errors"),
        "audit": await count_audit(stack),
    }


def mixed_file(existing_phone: str) -> str:
    """Rows 2-3 valid, then a bad resident ID, a bad phone, a repeat of row 2, a known client, no name."""
    return "\n".join(
        [
            "姓名,手机号,身份证号,性别,出生日期,职业,渠道",
            f"王芳,13812340001,{resident_id('19900307')},女,,teacher,缘故",
            f"李雷,13812340002,{resident_id('19850612', sequence='456')},男,1985-06-12,,陌生",
            f"张三,13812340003,{wrong_check_digit(resident_id('19800101'))},男,,,",
            "李四,12345,,男,,,",
            f"王芳二,13812340009,{resident_id('19900307')},女,,,",
            f"赵六,{existing_phone},,,,,",
            ",13812340005,,,,,",
        ]
    )


class TestDryRun:
    async def test_reports_each_rows_errors_and_stores_nothing(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_client(api, people.agent, name="Known", phone="13900009999")
        before = await stored_counts(stack)

        response = await upload(
            api, people.agent, mixed_file("139 0000 9999"), dry_run="true", consent_text_version="2025-01"
        )

        assert response.status_code == 200, response.text
        report = response.json()
        assert report["dry_run"] is True
        assert report["rows_total"] == 7
        assert report["rows_valid"] == 2
        assert report["rows_failed"] == 5
        errors = {(e["row"], e["field"]) for e in report["errors"]}
        assert errors == {
            (4, "resident_id"),
            (5, "phone"),
            (6, "resident_id"),
            (7, "phone"),
            (8, "name"),
        }
        messages = {e["row"]: e["message"] for e in report["errors"]}
        assert "check digit" in messages[4]
        assert "row 2" in messages[6]
        assert "exists" in messages[7]
        assert await stored_counts(stack) == before

    async def test_another_agents_clients_are_not_duplicates_and_not_revealed(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await create_client(api, people.outsider, name="Theirs", phone="13900009999")

        response = await upload(
            api, people.agent, "name,phone\nMine,13900009999\n", dry_run="true", consent_text_version="v1"
        )

        assert response.json()["rows_valid"] == 1

    @pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
    async def test_chinese_headers_in_gbk_or_utf8_with_or_without_bom(
        self, api: httpx.AsyncClient, people: People, encoding: str
    ) -> None:
        content = (
            "姓名,性别,出生日期,职业,渠道\r\n王芳,女,1990/3/7,教师,网络\r\n李雷,男,19850612,,\r\n".encode(
                encoding
            )
        )

        response = await upload(api, people.agent, content, dry_run="true")

        assert response.status_code == 200, response.text
        report = response.json()
        assert report["errors"] == []
        assert report["rows_valid"] == 2
        assert report["columns"] == ["birth_date", "channel", "gender", "name", "occupation"]

    async def test_a_mapping_names_unusual_headers(self, api: httpx.AsyncClient, people: People) -> None:
        content = "Kunde,Handy\nWang Fang,13812340001\n"

        response = await upload(
            api,
            people.agent,
            content,
            dry_run="true",
            consent_text_version="v1",
            mapping='{"name": "Kunde", "phone": "Handy"}',
        )

        assert response.status_code == 200, response.text
        assert response.json()["rows_valid"] == 1

    async def test_referral_and_unknown_words_are_row_errors(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        content = "name,gender,channel,birth_date\nA,x,转介绍,1990-01-01\nB,男,cold,2990-01-01\n"

        report = (await upload(api, people.agent, content, dry_run="true")).json()

        assert {(e["row"], e["field"]) for e in report["errors"]} == {
            (2, "gender"),
            (2, "channel"),
            (3, "birth_date"),
        }


class TestRealImport:
    async def test_one_job_imports_the_valid_rows_and_reports_the_rest(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        await create_client(api, people.agent, name="Known", phone="13900009999")

        response = await upload(
            api, people.agent, mixed_file("13900009999"), dry_run="false", consent_text_version="2025-01"
        )

        assert response.status_code == 202, response.text
        assert response.headers["location"] == f"{IMPORTS}/{response.json()['id']}"
        job = await finished(api, people.agent, response.json()["id"])
        assert job["state"] == "succeeded"
        assert (job["rows_total"], job["rows_done"], job["rows_failed"], job["rows_created"]) == (7, 7, 5, 2)
        listed = await api.get(CLIENTS, params={"phone": "13812340001"}, headers=people.agent.headers)
        [wang] = listed.json()["items"]
        assert wang["name"] == "王芳"
        assert wang["gender"] == "female"
        assert wang["birth_date"] == "1990-03-07"
        assert wang["phone"] == "+86 138****0001"
        assert wang["owner_agent_id"] == str(people.agent.user_id)
        consents = await stack.fetch(
            "SELECT purpose, text_version, recorded_by FROM clients.consents WHERE client_id = $1",
            uuid.UUID(wang["id"]),
        )
        assert [tuple(c) for c in consents] == [("personal_data", "2025-01", f"user:{people.agent.user_id}")]
        audited = await stack.fetch(
            "SELECT after FROM clients.audit_log WHERE action = 'client.created' AND resource_id = $1",
            uuid.UUID(wang["id"]),
        )
        assert len(audited) == 1
        assert "13812340001" not in audited[0]["after"]

        report = await api.get(job["errors_url"], headers=people.agent.headers)
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/csv")
        lines = report.text.strip().splitlines()
        assert lines[0] == "row,field,message"
        assert [line.split(",")[0] for line in lines[1:]] == ["4", "5", "6", "7", "8"]

    async def test_importing_the_same_file_again_creates_nothing_new(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        content = "name,phone\nA,13812340001\nB,13812340002\n"
        first = await upload(api, people.agent, content, dry_run="false", consent_text_version="v1")
        assert (await finished(api, people.agent, first.json()["id"]))["rows_created"] == 2

        again = await upload(api, people.agent, content, dry_run="false", consent_text_version="v1")
        job = await finished(api, people.agent, again.json()["id"])

        assert (job["rows_created"], job["rows_failed"]) == (0, 2)
        assert await count_clients(stack) == 2

    async def test_a_job_is_visible_to_its_owner_and_lead_only(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        started = await upload(api, people.agent, "name\nA\n", dry_run="false")
        job_id = started.json()["id"]
        await finished(api, people.agent, job_id)

        assert (await api.get(f"{IMPORTS}/{job_id}", headers=people.lead.headers)).status_code == 200
        assert_problem(await api.get(f"{IMPORTS}/{job_id}", headers=people.outsider.headers), 404)
        assert_problem(await api.get(f"{IMPORTS}/{job_id}/errors", headers=people.colleague.headers), 404)
        assert_problem(await api.get(f"{IMPORTS}/{uuid.uuid4()}", headers=people.agent.headers), 404)

    async def test_a_job_left_running_by_a_dead_process_is_marked_failed(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        job_id = uuid.uuid4()
        old = datetime.now(UTC) - timedelta(minutes=10)
        await stack.fetch(
            "INSERT INTO clients.import_jobs (id, owner_agent_id, state, rows_total, rows_done, rows_failed,"
            " rows_created, created_at, heartbeat_at) VALUES ($1, $2, 'running', 100, 50, 0, 50, $3, $3)",
            job_id,
            people.agent.user_id,
            old,
        )

        swept = await sweep_interrupted(stack.apps["clients"].state.sessions)

        assert swept == 1
        job = (await api.get(f"{IMPORTS}/{job_id}", headers=people.agent.headers)).json()
        assert job["state"] == "failed"
        assert "upload the file again" in job["failure"]


class TestRefusedFiles:
    async def test_a_file_that_is_not_csv_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await stored_counts(stack)
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"

        binary = await upload(api, people.agent, png, dry_run="false")
        json_body = await upload(
            api, people.agent, '{"name": "x"}', content_type="application/json", dry_run="false"
        )

        assert "binary" in assert_problem(binary, 422, field="file")["detail"]
        assert "text/csv" in assert_problem(json_body, 415)["detail"]
        assert await stored_counts(stack) == before

    async def test_a_file_without_a_header_row_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await stored_counts(stack)

        response = await upload(api, people.agent, "\n\n", dry_run="false")

        assert "header" in assert_problem(response, 422, field="file")["detail"]
        assert await stored_counts(stack) == before

    async def test_a_file_without_a_name_column_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await stored_counts(stack)

        response = await upload(
            api, people.agent, "手机号,性别\n13812340001,男\n", dry_run="false", consent_text_version="v1"
        )

        assert "no name column" in assert_problem(response, 422, field="mapping.name")["detail"]
        assert await stored_counts(stack) == before

    async def test_more_than_10000_rows_is_413(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await stored_counts(stack)

        response = await upload(api, people.agent, "name\n" + "A\n" * 10_001, dry_run="false")

        assert "10000 rows" in assert_problem(response, 413)["detail"]
        assert await stored_counts(stack) == before

    async def test_a_file_over_the_size_limit_is_413(
        self, api: httpx.AsyncClient, people: People, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        before = await stored_counts(stack)
        monkeypatch.setattr(reading, "MAX_FILE_BYTES", 1024)

        over_limit = await upload(api, people.agent, "name\n" + "Wang Fang\n" * 200, dry_run="false")
        over_body_limit = await upload(api, people.agent, "name\n" + "Wang Fang\n" * 600_000, dry_run="false")

        assert "larger than" in assert_problem(over_limit, 413)["detail"]
        assert_problem(over_body_limit, 413)
        assert await stored_counts(stack) == before

    async def test_a_file_larger_than_a_json_body_but_within_the_upload_limit_is_read(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await stored_counts(stack)
        note = "老客户转介绍 年初体检异常 关注重疾保障缺口。" * 4
        content = "姓名,备注\n" + "".join(f"客户{i},{note}\n" for i in range(6_000))
        assert 1_048_576 < len(content.encode()) < 5 * 1_048_576

        response = await upload(api, people.agent, content, dry_run="true")

        assert response.status_code == 200, response.text
        assert response.json()["rows_valid"] == 6_000
        assert await stored_counts(stack) == before

    async def test_identifiers_without_a_consent_basis_are_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        before = await stored_counts(stack)

        response = await upload(api, people.agent, "name,phone\nA,13812340001\n", dry_run="false")

        assert_problem(response, 422, field="consent_text_version")
        assert await stored_counts(stack) == before

    @pytest.mark.parametrize(
        ("mapping", "field"),
        [
            ("not json", "mapping"),
            ('{"salary": "name"}', "mapping.salary"),
            ('{"name": "Kunde"}', "mapping.name"),
        ],
    )
    async def test_a_bad_mapping_is_refused(
        self, api: httpx.AsyncClient, people: People, stack: Stack, mapping: str, field: str
    ) -> None:
        before = await stored_counts(stack)

        response = await upload(api, people.agent, "name\nA\n", dry_run="false", mapping=mapping)

        assert_problem(response, 422, field=field)
        assert await stored_counts(stack) == before

    async def test_dry_run_must_be_said(self, api: httpx.AsyncClient, people: People, stack: Stack) -> None:
        before = await stored_counts(stack)

        response = await upload(api, people.agent, "name\nA\n")

        assert_problem(response, 422, field="query.dry_run")
        assert await stored_counts(stack) == before
