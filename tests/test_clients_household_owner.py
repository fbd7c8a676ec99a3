"""Family members and milestones carry their client's owner and team (services/clients/owners.py):
set when they are added, moved with the client when it is reassigned or merged, so the new owner's
and the new team lead's upcoming birthdays and events show them and the old owner's do not."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
from alembic import command

from crmkit.migrations import alembic_config, upgrade_to_head
from launcher.apps import SERVICES
from tests.clients_support import CLIENTS, create_client, if_match
from tests.conftest import People, Person, Stack, _with_database
from tests.migrations_support import admin
from tests.test_clients_duplicates import merge
from tests.test_clients_household import add_member
from tests.test_clients_milestones import add_milestone, upcoming

# Grandma's birthday on 5 March, her banquet (one-off) on the 6th, the anniversary (yearly) on the 7th.
WINDOW = {"from": "2030-03-04", "within_days": 7}
ENTRIES = {"Grandma's birthday", "Grandma's 80th", "Wedding anniversary"}


async def household(api: httpx.AsyncClient, person: Person, **client: Any) -> dict[str, Any]:
    """A client with a family member and the three kinds of upcoming entry in ``WINDOW``."""
    created = await create_client(api, person, **client)
    grandma = await add_member(
        api, person, created["id"], relationship="parent", name="Grandma", birth_date="1950-03-05"
    )
    await add_milestone(
        api,
        person,
        created["id"],
        kind="elder_birthday_banquet",
        title="Grandma's 80th",
        occurs_on="2030-03-06",
        family_member_id=grandma["id"],
    )
    await add_milestone(
        api,
        person,
        created["id"],
        kind="custom",
        title="Wedding anniversary",
        occurs_on="2012-03-07",
        recurs_yearly=True,
    )
    return created


async def titles(api: httpx.AsyncClient, person: Person) -> set[str]:
    return {item["title"] for item in await upcoming(api, person, **WINDOW)}


async def carried(stack: Stack, client_id: str) -> set[tuple[str, uuid.UUID, uuid.UUID | None]]:
    """(table, owner, team) of every family member and milestone of the client."""
    rows = await stack.fetch(
        "SELECT 'family_members' AS t, owner_agent_id, team_id FROM clients.family_members"
        " WHERE client_id = $1 UNION SELECT 'milestones', owner_agent_id, team_id FROM clients.milestones"
        " WHERE client_id = $1",
        uuid.UUID(client_id),
    )
    return {(r["t"], r["owner_agent_id"], r["team_id"]) for r in rows}


def owned_by(person: Person, team_id: uuid.UUID) -> set[tuple[str, uuid.UUID, uuid.UUID | None]]:
    return {("family_members", person.user_id, team_id), ("milestones", person.user_id, team_id)}


async def test_new_rows_copy_the_clients_owner_and_team(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await household(api, people.agent)

    assert await carried(stack, client["id"]) == owned_by(people.agent, people.north_team_id)
    assert await titles(api, people.agent) == ENTRIES
    assert await titles(api, people.lead) == ENTRIES
    assert await titles(api, people.outsider) == set()


async def test_a_reassigned_clients_family_dates_follow_it_to_the_new_owner_and_team(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await household(api, people.outsider)  # team South
    assert await titles(api, people.lead) == set()

    response = await api.patch(
        f"{CLIENTS}/{client['id']}",
        json={"owner_agent_id": str(people.agent.user_id)},
        headers=if_match(people.admin, client["version"]),
    )

    assert response.status_code == 200, response.text
    assert await carried(stack, client["id"]) == owned_by(people.agent, people.north_team_id)
    assert await titles(api, people.agent) == ENTRIES
    assert await titles(api, people.lead) == ENTRIES
    assert await titles(api, people.outsider) == set()


async def test_a_team_lead_moves_a_client_within_the_team(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await household(api, people.agent)

    response = await api.patch(
        f"{CLIENTS}/{client['id']}",
        json={"owner_agent_id": str(people.colleague.user_id)},
        headers=if_match(people.lead, client["version"]),
    )

    assert response.status_code == 200, response.text
    assert await carried(stack, client["id"]) == owned_by(people.colleague, people.north_team_id)
    assert await titles(api, people.colleague) == ENTRIES
    assert await titles(api, people.agent) == set()
    assert await titles(api, people.lead) == ENTRIES


async def test_an_update_that_keeps_the_owner_leaves_the_rows_alone(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await household(api, people.agent)

    response = await api.patch(
        f"{CLIENTS}/{client['id']}",
        json={"occupation": "teacher", "owner_agent_id": str(people.agent.user_id)},
        headers=if_match(people.lead, client["version"]),
    )

    assert response.status_code == 200, response.text
    assert await carried(stack, client["id"]) == owned_by(people.agent, people.north_team_id)


async def test_a_merge_moves_the_duplicates_family_dates_to_the_survivors_owner(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    survivor = await create_client(api, people.agent, name="Zhang Wei")
    duplicate = await household(api, people.outsider, name="Zhang Wei")  # another agent, team South

    response = await merge(api, people.admin.headers, survivor, duplicate["id"])

    assert response.status_code == 200, response.text
    assert await carried(stack, survivor["id"]) == owned_by(people.agent, people.north_team_id)
    assert await titles(api, people.agent) == ENTRIES
    assert await titles(api, people.lead) == ENTRIES
    assert await titles(api, people.outsider) == set()


def test_the_migration_fills_the_owner_and_team_from_the_client(server_url: str) -> None:
    app = next(spec for spec in SERVICES if spec.name == "clients")
    name = f"crm_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        url = _with_database(server_url, name)
        command.upgrade(alembic_config(app.migrations_dir, url), "clients_0009")
        owner, team, client_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        asyncio.run(_old_rows(url, client_id, owner, team))
        upgrade_to_head(app.migrations_dir, url)

        rows = asyncio.run(_fetch(url, CARRIED, client_id))
        assert {tuple(r) for r in rows} == {("family_members", owner, team), ("milestones", owner, team)}
        assert {tuple(r) for r in asyncio.run(_fetch(url, NULLABLE))} == {
            ("family_members", "owner_agent_id", "NO"),
            ("family_members", "team_id", "YES"),
            ("milestones", "owner_agent_id", "NO"),
            ("milestones", "team_id", "YES"),
        }
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


CARRIED = """
SELECT 'family_members', owner_agent_id, team_id FROM clients.family_members WHERE client_id = $1
UNION SELECT 'milestones', owner_agent_id, team_id FROM clients.milestones WHERE client_id = $1
"""
NULLABLE = """
SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns
WHERE table_schema = 'clients' AND table_name IN ('family_members', 'milestones')
  AND column_name IN ('owner_agent_id', 'team_id')
"""


async def _old_rows(url: str, client_id: uuid.UUID, owner: uuid.UUID, team: uuid.UUID) -> None:
    """A client with a family member and a milestone, as clients_0009 stored them (no owner)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO clients.clients (id, owner_agent_id, team_id, name, gender, channel, version,"
            " created_at, updated_at) VALUES ($1, $2, $3, 'Zhang Wei', 'male', 'cold', 1, now(), now())",
            client_id,
            owner,
            team,
        )
        await conn.execute(
            "INSERT INTO clients.family_members (id, client_id, relationship, name, gender, is_dependent,"
            " is_decision_maker, is_breadwinner, version, created_at, updated_at) VALUES"
            " (gen_random_uuid(), $1, 'parent', 'Grandma', 'female', false, false, false, 1, now(), now())",
            client_id,
        )
        await conn.execute(
            "INSERT INTO clients.milestones (id, client_id, kind, title, occurs_on, recurs_yearly, version,"
            " created_at, updated_at) VALUES"
            " (gen_random_uuid(), $1, 'custom', 'Anniversary', '2012-03-07', true, 1, now(), now())",
            client_id,
        )
    finally:
        await conn.close()


async def _fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
