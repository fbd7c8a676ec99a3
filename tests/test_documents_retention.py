"""Retention (issue 20, item 5): a deleted client's documents go with it, contracts and receipts
stay for the legal minimum, a deleted document's content is purged after the grace period."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI

from crmkit.clock import utc_now
from services.documents.retention import run_once
from tests import clients_support
from tests.conftest import People, Stack
from tests.documents_support import (
    DOCUMENTS,
    assert_problem,
    every_stored_object,
    params,
    stored_objects,
    uploaded,
)


async def until_client_deletions_seen(app: FastAPI) -> tuple[int, int]:
    """The events feed shows a commit once no older transaction is open on the server (another
    test run's, say): poll briefly, as the sweep would on its next round."""
    forgotten = purged = 0
    for _ in range(100):
        f, p = await run_once(app)
        forgotten, purged = forgotten + f, purged + p
        if forgotten:
            break
        await asyncio.sleep(0.1)
    return forgotten, purged


async def test_a_deleted_clients_documents_are_purged_but_contracts_are_kept(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    id_copy = await uploaded(api, people.agent, params("client", client["id"], "id_copy"))
    contract = await uploaded(api, people.agent, params("client", client["id"], "contract"))
    other = await clients_support.create_client(api, people.agent)
    kept = await uploaded(api, people.agent, params("client", other["id"], "id_copy"))
    assert len(await stored_objects(stack)) == 3

    deleted = await api.delete(
        f"/api/v1/clients/{client['id']}", headers=clients_support.if_match(people.agent, client["version"])
    )
    assert deleted.status_code == 204, deleted.text
    app = stack.apps["documents"]
    assert await until_client_deletions_seen(app) == (2, 1)
    rows = {
        str(r["id"]): r
        for r in await stack.fetch(
            "SELECT id, deleted_at, purged_at, filename_sealed FROM documents.documents"
        )
    }
    assert rows[id_copy["id"]]["purged_at"] is not None
    assert rows[id_copy["id"]]["filename_sealed"] is None
    assert rows[contract["id"]]["deleted_at"] is not None
    assert rows[contract["id"]]["purged_at"] is None  # the legal minimum holds it
    assert rows[kept["id"]]["deleted_at"] is None
    assert len(await stored_objects(stack)) == 2
    assert_problem(await api.get(f"{DOCUMENTS}/{contract['id']}", headers=people.agent.headers), 404)

    # Ten years on, the contract goes too; running again reads no event twice.
    years = app.state.settings.contract_retention_years
    assert await run_once(app, utc_now() + timedelta(days=365 * years + 10)) == (0, 1)
    assert len(await stored_objects(stack)) == 1
    actions = await stack.fetch(
        "SELECT action FROM documents.audit_log WHERE resource_id = $1 ORDER BY id", contract["id"]
    )
    assert [a["action"] for a in actions] == ["document.uploaded", "document.deleted", "document.purged"]


async def test_a_deleted_document_is_purged_after_the_grace_period(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    created = await uploaded(api, people.agent, params("client", client["id"], "medical_records"))
    response = await api.delete(
        f"{DOCUMENTS}/{created['id']}",
        headers={**people.agent.headers, "If-Match": f'"{created["version"]}"'},
    )
    assert response.status_code == 204
    app = stack.apps["documents"]
    assert await run_once(app) == (0, 0)
    assert len(await stored_objects(stack)) == 1
    grace = app.state.settings.deleted_retention_days
    assert await run_once(app, utc_now() + timedelta(days=grace, minutes=1)) == (0, 1)
    assert await every_stored_object(stack) == []


async def test_objects_without_a_row_are_swept_after_an_hour(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    live = await uploaded(api, people.agent, params("client", client["id"], "id_copy"))
    storage = stack.apps["documents"].state.storage
    orphan = uuid.uuid4().hex  # as if the process died between the write and the commit
    writer = await storage.writer(orphan)
    await writer.write(b"sealed bytes")
    await writer.commit()
    crashed = await storage.writer(uuid.uuid4().hex)  # a write cut short: its .partial file stays
    await crashed.write(b"half")
    crashed.handle.close()  # the process died: the file stays, unfinished
    assert len(await storage.listing()) == 4  # the live PDF, its preview, the orphan, the .partial

    app = stack.apps["documents"]
    await run_once(app)
    assert len(await storage.listing()) == 4  # too young to tell from an upload in flight
    await run_once(app, utc_now() + timedelta(hours=2))
    (key,) = await stored_objects(stack)
    rows = await stack.fetch("SELECT object_key FROM documents.documents WHERE id = $1", live["id"])
    assert rows[0]["object_key"] == key
    assert sorted(await every_stored_object(stack)) == [key, f"{key}.thumb"]  # its preview is kept
