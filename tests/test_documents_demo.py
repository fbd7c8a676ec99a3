"""The documents demo stage (issue 20): a claim with its diagnosis certificate and a receipt scan on
a policy, through the gateway as ``make run`` loads them; a second run uploads nothing twice."""

from __future__ import annotations

import asyncio

import httpx

from launcher import demo_documents
from tests.conftest import People, Stack
from tests.test_claims_demo import load_every_stage
from tests.test_clients_demo import SyncBridge


async def test_the_demo_has_a_certificate_on_a_claim_and_a_receipt_on_a_policy(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    loop = asyncio.get_running_loop()

    def run() -> None:
        ctx = load_every_stage(stack, people.admin, loop)
        with httpx.Client(
            transport=SyncBridge(stack.apps["gateway"], loop), base_url="http://gateway.internal"
        ) as http:
            ctx.http = http
            demo_documents.load(ctx)

    await asyncio.to_thread(run)
    rows = await stack.fetch("SELECT kind, record_type, content_type FROM documents.documents ORDER BY kind")
    assert [(r["kind"], r["record_type"]) for r in rows] == [
        ("diagnosis_certificate", "claim_document"),
        ("receipt", "policy"),
    ]
    assert rows[1]["content_type"] == "image/jpeg"
    await asyncio.to_thread(run)
    again = await stack.fetch("SELECT kind, record_id FROM documents.documents ORDER BY kind")
    assert len(again) == 2, again
