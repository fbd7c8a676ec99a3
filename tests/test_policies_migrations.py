"""The policies and claims migrations of issue 16: policies_0004 (lifecycle: existing data takes the
new terms), policies_0005 (evidence, return visits, annual reviews), claims_0004_cover (waiting
period) and claims_0005 (decision references); and of issue 21: policies_0007 (the clients' last
review on their policies, indexes for the admin-wide reads), policies_0008 (the instalments'
``collectable`` flag of the collection list) and claims_0006 (report indexes). The
migrated schemas are what the models describe, and the new revisions step down and up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date

import asyncpg
import pytest
from alembic import command
from sqlalchemy import MetaData

from crmkit.migrations import alembic_config, upgrade_to_head
from launcher.apps import SERVICES
from services.claims import models as claims_models
from services.policies import models as policies_models
from tests.conftest import _with_database
from tests.migrations_support import admin, schema_differences, steps_down_and_up

POLICIES_APP = next(spec for spec in SERVICES if spec.name == "policies")
# policies_0007: expression indexes, which Alembic reports as removed and added again.
REVIEW_DUE_INDEXES = {"ix_policies_owner_review_due", "ix_policies_team_review_due", "ix_policies_review_due"}


@pytest.fixture
def scratch(server_url: str) -> Iterator[str]:
    name = f"crm_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _seed(url: str, number: str = "ZA0001") -> tuple[uuid.UUID, uuid.UUID]:
    """A million-medical product and a policy of it, as policies_0003 stored them."""
    conn = await asyncpg.connect(url)
    try:
        product, policy = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO policies.products (id, insurer, name, category, kind, min_insured_age,"
            " max_insured_age, payment_years, cooling_off_days, walls, active, version, created_at,"
            " updated_at) VALUES ($1, '众安保险', $2, 'million_medical', 'protection', 0, 65,"
            " '{1}', 15, '{medical}', true, 1, now(), now())",
            product,
            "尊享e生" if number == "ZA0001" else f"尊享e生 {number}",
        )
        await conn.execute(
            "INSERT INTO policies.policies (id, application_id, policy_number, insurer, product_id,"
            " product_name, category, kind, client_id, insured_name, owner_agent_id, status, sum_insured,"
            " annual_premium, payment_years, walls, cooling_off_days, issued_on, effective_on,"
            " cooling_off_ends_on, version, created_at, updated_at) VALUES ($1, $2, $8, '众安保险', $3,"
            " '尊享e生', 'million_medical', 'protection', $4, '张伟', $5, 'in_force', 2000000, 468, 1,"
            " '{medical}', 15, $6, $6, $7, 1, now(), now())",
            policy,
            uuid.uuid4(),
            product,
            uuid.uuid4(),
            uuid.uuid4(),
            date(2020, 1, 2),
            date(2020, 1, 20),
            number,
        )
        return product, policy
    finally:
        await conn.close()


def test_existing_medical_policies_get_their_one_year_term_and_the_migration_steps_back(scratch: str) -> None:
    """The issue's example: a one-year million-medical policy effective 2020-01-02 was "in force"
    in 2026; after the migration it ends on 2021-01-02."""
    config = alembic_config(POLICIES_APP.migrations_dir, scratch)
    command.upgrade(config, "policies_0003")
    product, policy = asyncio.run(_seed(scratch))
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)

    async def read() -> tuple[asyncpg.Record, asyncpg.Record]:
        conn = await asyncpg.connect(scratch)
        try:
            made = await conn.fetchrow(
                "SELECT coverage_term, premium_mode, grace_days FROM policies.products WHERE id = $1", product
            )
            issued = await conn.fetchrow(
                "SELECT coverage_term, renewable, expires_on, cooling_off_noted, lapses::text AS lapses"
                " FROM policies.policies WHERE id = $1",
                policy,
            )
            assert made is not None
            assert issued is not None
            return made, issued
        finally:
            await conn.close()

    made, issued = asyncio.run(read())
    assert dict(made) == {"coverage_term": "one_year_renewable", "premium_mode": "annual", "grace_days": 60}
    assert dict(issued) == {
        "coverage_term": "one_year_renewable",
        "renewable": True,
        "expires_on": date(2021, 1, 2),
        "cooling_off_noted": True,
        "lapses": "[]",
    }
    command.downgrade(config, "policies_0003")
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)


def test_existing_return_visits_become_passed_visits_and_json_null_is_no_visit(scratch: str) -> None:
    """policies_0005 carries each stored return visit over as a passed visit. A policy without one may
    hold JSON null rather than SQL NULL (how the ORM wrote ``None``): that is no visit (it failed the
    migration of a real demo database with a not-null violation)."""
    config = alembic_config(POLICIES_APP.migrations_dir, scratch)
    command.upgrade(config, "policies_0003")
    _, visited = asyncio.run(_seed(scratch))

    async def record_the_visit() -> None:
        conn = await asyncpg.connect(scratch)
        try:
            await conn.execute(
                "UPDATE policies.policies SET return_visit = $2::jsonb WHERE id = $1",
                visited,
                '{"visited_on": "2020-02-03", "understood_cover": true, "signed_personally": true}',
            )
        finally:
            await conn.close()

    asyncio.run(record_the_visit())
    asyncio.run(_seed_json_null(scratch))
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)

    async def visits() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(scratch)
        try:
            return list(await conn.fetch("SELECT policy_id, visited_on, passed FROM policies.return_visits"))
        finally:
            await conn.close()

    assert [tuple(row) for row in asyncio.run(visits())] == [(visited, date(2020, 2, 3), True)]


async def _seed_json_null(url: str) -> None:
    """Another policy whose `return_visit` is JSON null."""
    _, policy = await _seed(url, "ZA0002")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE policies.policies SET return_visit = 'null'::jsonb WHERE id = $1", policy)
    finally:
        await conn.close()


def test_policies_take_their_clients_last_review_and_the_migration_steps_back(scratch: str) -> None:
    """policies_0007 copies each client's latest review date onto the client's policies (what the
    reviews due are walked by); a client never reviewed keeps null."""
    config = alembic_config(POLICIES_APP.migrations_dir, scratch)
    command.upgrade(config, "policies_0003")
    _, reviewed = asyncio.run(_seed(scratch))
    _, never = asyncio.run(_seed(scratch, "ZA0002"))
    command.upgrade(config, "policies_0006")

    async def record_two_reviews() -> None:
        conn = await asyncpg.connect(scratch)
        try:
            for on in (date(2024, 3, 1), date(2025, 2, 28)):
                await conn.execute(
                    "INSERT INTO policies.policy_reviews (id, client_id, owner_agent_id, reviewed_on,"
                    " findings, recorded_by, created_at) SELECT $1, client_id, owner_agent_id, $3, '[]',"
                    " 'agent', now() FROM policies.policies WHERE id = $2",
                    uuid.uuid4(),
                    reviewed,
                    on,
                )
        finally:
            await conn.close()

    async def review_dates() -> dict[uuid.UUID, date | None]:
        conn = await asyncpg.connect(scratch)
        try:
            rows = await conn.fetch("SELECT id, client_reviewed_on FROM policies.policies")
            return {row["id"]: row["client_reviewed_on"] for row in rows}
        finally:
            await conn.close()

    asyncio.run(record_two_reviews())
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)
    assert asyncio.run(review_dates()) == {reviewed: date(2025, 2, 28), never: None}
    command.downgrade(config, "policies_0006")
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)


def test_instalments_of_policies_that_cannot_lapse_are_not_collectable_and_the_migration_steps_back(
    scratch: str,
) -> None:
    """policies_0008 flags each instalment ``collectable`` while its policy can still lapse (issued,
    receipt signed, return visit done, in force): the lapsed policy's arrears are not."""
    config = alembic_config(POLICIES_APP.migrations_dir, scratch)
    command.upgrade(config, "policies_0003")
    _, live = asyncio.run(_seed(scratch))
    _, lapsed = asyncio.run(_seed(scratch, "ZA0002"))
    command.upgrade(config, "policies_0007")

    async def lapse_one_with_instalments() -> None:
        conn = await asyncpg.connect(scratch)
        try:
            await conn.execute(
                "UPDATE policies.policies SET status = 'lapsed', lapsed_on = '2020-04-03' WHERE id = $1",
                lapsed,
            )
            for policy in (live, lapsed):
                for number, status in ((1, "paid"), (2, "due")):
                    await conn.execute(
                        "INSERT INTO policies.premium_dues (id, policy_id, owner_agent_id, instalment,"
                        " due_on, amount, status) SELECT $1, id, owner_agent_id, $3, $4, 39, $5"
                        " FROM policies.policies WHERE id = $2",
                        uuid.uuid4(),
                        policy,
                        number,
                        date(2020, number, 2),
                        status,
                    )
        finally:
            await conn.close()

    async def flags() -> set[tuple[uuid.UUID, int, bool]]:
        conn = await asyncpg.connect(scratch)
        try:
            rows = await conn.fetch("SELECT policy_id, instalment, collectable FROM policies.premium_dues")
            return {(row["policy_id"], row["instalment"], row["collectable"]) for row in rows}
        finally:
            await conn.close()

    asyncio.run(lapse_one_with_instalments())
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)
    assert asyncio.run(flags()) == {(live, 1, True), (live, 2, True), (lapsed, 1, False), (lapsed, 2, False)}
    command.downgrade(config, "policies_0007")
    upgrade_to_head(POLICIES_APP.migrations_dir, scratch)
    assert asyncio.run(flags()) == {(live, 1, True), (live, 2, True), (lapsed, 1, False), (lapsed, 2, False)}


@pytest.mark.parametrize(
    ("schema", "metadata"),
    [("policies", policies_models.metadata), ("claims", claims_models.metadata)],
)
async def test_the_migrated_schema_matches_the_models(
    database_url: str, schema: str, metadata: MetaData
) -> None:
    assert (
        await schema_differences(database_url, schema, metadata, expression_indexes=REVIEW_DUE_INDEXES) == []
    )


async def test_the_review_due_indexes_are_on_the_models_expression(database_url: str) -> None:
    """Alembic cannot compare them (skipped above): the migrated definitions are the models' own."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'policies'"
            " AND indexname = ANY($1::text[])",
            sorted(REVIEW_DUE_INDEXES),
        )
    finally:
        await conn.close()
    found = {row["indexname"]: row["indexdef"] for row in rows}
    assert set(found) == REVIEW_DUE_INDEXES
    for definition in found.values():
        assert "COALESCE(client_reviewed_on, effective_on) + '1 year'::interval))::date" in definition
        assert "WHERE ((status)::text = ANY" in definition


@pytest.mark.parametrize(("service", "before"), [("policies", "policies_0004"), ("claims", "claims_0003")])
def test_the_new_revision_steps_down_and_up_again(server_url: str, service: str, before: str) -> None:
    """policies: back to policies_0004 (policies_0008 to policies_0005; the seed test above steps all
    back); claims: back to claims_0003 (claims_0006 to claims_0004_cover)."""
    steps_down_and_up(server_url, service, before)
