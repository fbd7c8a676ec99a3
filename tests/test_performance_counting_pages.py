"""A page of events is counted in a handful of statements, whatever its length, with the same
counts as event by event (services/performance/counters.py, ``Book``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from services.performance import counters
from tests.conftest import Stack

ZONE = ZoneInfo("Asia/Shanghai")
MARCH = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
APRIL = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)


def published(type_: str, resource_id: uuid.UUID, when: datetime, **data: Any) -> dict[str, Any]:
    """An event as the services' feeds answer it."""
    return {
        "type": type_,
        "occurred_at": when.isoformat().replace("+00:00", "Z"),
        "resource": {"id": str(resource_id), "data": data},
    }


@pytest.fixture
def statements(stack: Stack) -> Iterator[list[str]]:
    """Every SQL statement the performance service's engine runs while the test does."""
    seen: list[str] = []
    engine = stack.apps["performance"].state.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def month_row(stack: Stack, agent_id: uuid.UUID, month: str) -> dict[str, Any]:
    rows = await stack.fetch(
        "SELECT * FROM performance.agent_months WHERE agent_id = $1 AND month = $2::text::date",
        agent_id,
        month,
    )
    assert len(rows) == 1
    return dict(rows[0])


class TestAPage:
    async def test_a_long_page_takes_a_handful_of_statements(
        self, stack: Stack, statements: list[str]
    ) -> None:
        agents = [uuid.uuid4() for _ in range(3)]
        team = uuid.uuid4()
        page: list[dict[str, Any]] = []
        for n in range(60):
            client_id = uuid.uuid4()
            agent = agents[n % 3]
            page.append(
                published(
                    "client.created",
                    client_id,
                    MARCH,
                    owner_agent_id=str(agent),
                    team_id=str(team),
                    channel="referral" if n % 2 else "cold",
                )
            )
            page.append(published("client.tier_changed", client_id, MARCH, computed_tier="A"))
            page.append(published("needs_assessment.saved", client_id, APRIL))
            page.append(
                published(
                    "interaction.recorded",
                    uuid.uuid4(),
                    APRIL,
                    client_id=str(client_id),
                    kind="call",
                    at="2026-04-02T09:00:00+08:00",
                )
            )
        page.append(published("client.updated", uuid.uuid4(), MARCH))  # read past

        async with stack.apps["performance"].state.sessions() as session:
            counted = await counters.count(session, page, ZONE)
            await session.commit()

        assert counted == 240
        # The facts of clients and of applications read (two), the new facts written (one
        # multi-row INSERT), the months in one upsert; the commit is no statement of the engine's.
        assert len(statements) <= 5, statements
        first = await month_row(stack, agents[0], "2026-03-01")
        assert first["leads_referral"] + first["leads_cold"] == 20
        assert first["tiered"] == 20
        assert first["team_id"] == team
        april = await month_row(stack, agents[0], "2026-04-01")
        assert april["needs_analysed"] == 20
        assert april["effective_clients"] == 20
        assert april["calls"] == 20
        facts = await stack.fetch(
            "SELECT count(*) AS n FROM performance.client_facts WHERE agent_id = $1", agents[1]
        )
        assert facts[0]["n"] == 20

    async def test_the_counts_add_to_what_a_month_had(self, stack: Stack) -> None:
        agent = uuid.uuid4()
        for _ in range(2):
            page = [
                published("proposal.created", uuid.uuid4(), MARCH, owner_agent_id=str(agent)),
                published("proposal.created", uuid.uuid4(), MARCH, owner_agent_id=str(agent)),
            ]
            async with stack.apps["performance"].state.sessions() as session:
                await counters.count(session, page, ZONE)
                await session.commit()

        assert (await month_row(stack, agent, "2026-03-01"))["proposals"] == 4

    async def test_a_page_with_nothing_to_count_writes_nothing(
        self, stack: Stack, statements: list[str]
    ) -> None:
        async with stack.apps["performance"].state.sessions() as session:
            counted = await counters.count(session, [published("client.updated", uuid.uuid4(), MARCH)], ZONE)

        assert counted == 0
        assert statements == []
