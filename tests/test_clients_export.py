"""The clients CSV export as a spreadsheet reads it: text that looks like a formula stays text."""

from __future__ import annotations

import csv
import io

import httpx

from tests.clients_support import CLIENTS, create_client
from tests.conftest import People


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


class TestFormulaNeutralising:
    async def test_a_name_or_occupation_starting_like_a_formula_gets_a_leading_quote(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        await create_client(
            api, people.agent, name='=HYPERLINK("http://evil.example","点我")', occupation="@SUM(1)"
        )
        await create_client(api, people.agent, name="王芳", occupation="教师", phone="13812345678")

        rows = {
            row["occupation"]: row
            for row in rows_of(await api.get(f"{CLIENTS}/export", headers=people.agent.headers))
        }

        assert rows["'@SUM(1)"]["name"] == '\'=HYPERLINK("http://evil.example","点我")'
        plain = rows["教师"]
        assert plain["name"] == "王芳"
        assert plain["phone"] == "+86 138****5678"  # our own E.164 mask, not a formula: left as it is
