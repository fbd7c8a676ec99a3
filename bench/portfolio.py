"""Policies and claims for the benchmark's clients, by COPY, as the services would have written them.

Every other client holds an in-force policy (issued from an application, with its premium
schedule); one policy in twenty has a claim, spread over the open and closed states, with the
last client update up to three weeks old, so the agenda's work lists have real rows to find.
Encrypted fields are sealed with the services' contexts and the development key, as in
``bench.dataset``.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from bench.dataset import DataSet
from crmkit.crypto import FieldCipher
from crmkit.settings import DEV_FIELD_KEY
from launcher.throwaway import plain

HEALTH_CONTEXT = "policies.health_disclosure"  # services/policies/tools.py
HEALTH_ANSWERS = [{"question": "过去两年内是否住院?", "answer": False, "details": None}]
CLAIM_STATES = ("reported", "collecting_documents", "submitted", "under_review", "approved", "paid")


@dataclass(frozen=True)
class Product:
    id: uuid.UUID
    insurer: str
    name: str
    category: str
    kind: str
    walls: list[str]
    premium_per_10k: Decimal


PRODUCTS = (
    ("平安人寿", "平安福重疾险", "critical_illness", "protection", ["critical_illness"], Decimal("160")),
    ("众安保险", "尊享e生百万医疗", "million_medical", "protection", ["medical"], Decimal("4")),
    ("泰康人寿", "泰康定期寿险", "term_life", "protection", ["death"], Decimal("15")),
    ("中国人寿", "国寿意外伤害险", "accident", "protection", ["accident"], Decimal("5")),
)


def _return_visit(visited_on: date) -> str:
    return json.dumps({"visited_on": str(visited_on), "understood_cover": True, "signed_personally": True})


def _product_head(p: Product) -> tuple[uuid.UUID, str, str, str, str]:
    return p.id, p.insurer, p.name, p.category, p.kind


async def load_portfolio(
    url: str, data: DataSet, *, seed: int = 11, first_serial: int = 0
) -> dict[str, float]:
    """Products, applications, policies, premium dues and claims; returns the counts and seconds.

    ``first_serial``: policy numbers start after it (a second load into the same book)."""
    rng = random.Random(seed)
    cipher = FieldCipher(DEV_FIELD_KEY)
    disclosure = cipher.encrypt(json.dumps(HEALTH_ANSWERS, ensure_ascii=False), context=HEALTH_CONTEXT)
    started = time.perf_counter()
    now = datetime.now(UTC)
    today = now.date()
    conn = await asyncpg.connect(plain(url))
    try:  # a second load into the same book sells the catalogue already there
        known = {
            (r["insurer"], r["name"]): r["id"]
            for r in await conn.fetch("SELECT id, insurer, name FROM policies.products")
        }
    finally:
        await conn.close()
    products = [Product(known.get((spec[0], spec[1]), uuid.uuid4()), *spec) for spec in PRODUCTS]
    applications: list[tuple[object, ...]] = []
    policies: list[tuple[object, ...]] = []
    dues: list[tuple[object, ...]] = []
    claims: list[tuple[object, ...]] = []
    serial = first_serial
    for agent in data.agents:
        for client_id in agent.client_ids[::2]:
            serial += 1
            product = products[serial % len(products)]
            sum_insured = Decimal(rng.choice((100_000, 300_000, 500_000, 1_000_000)))
            premium = (sum_insured / 10_000 * product.premium_per_10k).quantize(Decimal("0.01"))
            issued = today - timedelta(days=rng.randrange(30, 900))
            application_id, policy_id = uuid.uuid4(), uuid.uuid4()
            created = datetime.combine(issued, datetime.min.time(), UTC)
            applications.append(
                (
                    application_id,
                    client_id,
                    "投保人本人",
                    date(1980, 1, 1),
                    agent.user_id,
                    agent.team_id,
                    product.id,
                    sum_insured,
                    premium,
                    20,
                    json.dumps({"designation": "legal_heirs"}),
                    disclosure,
                    1,
                    0,
                    "1-01",
                    "issued",
                    issued - timedelta(days=12),
                    issued - timedelta(days=10),
                    issued - timedelta(days=3),
                    policy_id,
                    2,
                    created,
                    created,
                )
            )
            signed = issued + timedelta(days=3)
            policies.append(
                (
                    policy_id,
                    application_id,
                    f"B{serial:010d}",
                    product.insurer,
                    product.id,
                    product.name,
                    product.category,
                    product.kind,
                    client_id,
                    "投保人本人",
                    agent.user_id,
                    agent.team_id,
                    "in_force",
                    sum_insured,
                    premium,
                    20,
                    product.walls,
                    15,
                    issued,
                    issued + timedelta(days=1),
                    signed,
                    signed + timedelta(days=15),
                    _return_visit(signed),
                    signed + timedelta(days=16),
                    4,
                    created,
                    created,
                )
            )
            next_due = today + timedelta(days=rng.randrange(0, 365))  # the next yearly instalment
            dues.append(
                (uuid.uuid4(), policy_id, agent.user_id, agent.team_id, 2, next_due, premium, "due", None)
            )
            if serial % 20 == 0:
                status = rng.choice(CLAIM_STATES)
                incident = max(issued + timedelta(days=5), today - timedelta(days=rng.randrange(10, 120)))
                reported = min(today, incident + timedelta(days=2))
                submitted = reported + timedelta(days=7) if status not in CLAIM_STATES[:2] else None
                decided = submitted + timedelta(days=20) if submitted and status in CLAIM_STATES[4:] else None
                amount = (sum_insured / 10).quantize(Decimal("0.01"))
                claim_created = datetime.combine(reported, datetime.min.time(), UTC)
                closed = status == "paid"
                claims.append(
                    (
                        uuid.uuid4(),
                        policy_id,
                        client_id,
                        agent.user_id,
                        agent.team_id,
                        f"B{serial:010d}",
                        product.insurer,
                        product.name,
                        "medical" if product.category == "million_medical" else "accident",
                        incident,
                        reported,
                        amount,
                        "投保人本人",
                        "self",
                        status,
                        submitted,
                        submitted + timedelta(days=30) if submitted else None,
                        decided,
                        amount if decided else None,
                        amount if closed else None,
                        decided + timedelta(days=5) if closed and decided else None,
                        now - timedelta(days=rng.randrange(0, 21), hours=rng.randrange(24)),
                        reported if status == "collecting_documents" else None,
                        1,
                        claim_created,
                        claim_created,
                        now if closed else None,
                    )
                )
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.copy_records_to_table(
            "products",
            schema_name="policies",
            columns=[
                "id",
                "insurer",
                "name",
                "category",
                "kind",
                "min_insured_age",
                "max_insured_age",
                "payment_years",
                "cooling_off_days",
                "walls",
                "active",
                "version",
                "created_at",
                "updated_at",
            ],
            records=[
                (*_product_head(p), 0, 65, [1, 10, 20], 15, p.walls, True, 1, now, now)
                for p in products
                if (p.insurer, p.name) not in known
            ],
        )
        await conn.copy_records_to_table(
            "applications",
            schema_name="policies",
            columns=[
                "id",
                "client_id",
                "insured_name",
                "insured_birth_date",
                "owner_agent_id",
                "team_id",
                "product_id",
                "sum_insured",
                "annual_premium",
                "payment_years",
                "beneficiaries",
                "health_disclosure_cipher",
                "health_questions",
                "health_yes_answers",
                "occupation_code",
                "status",
                "applied_on",
                "submitted_on",
                "decided_on",
                "policy_id",
                "version",
                "created_at",
                "updated_at",
            ],
            records=applications,
        )
        await conn.copy_records_to_table(
            "policies",
            schema_name="policies",
            columns=[
                "id",
                "application_id",
                "policy_number",
                "insurer",
                "product_id",
                "product_name",
                "category",
                "kind",
                "client_id",
                "insured_name",
                "owner_agent_id",
                "team_id",
                "status",
                "sum_insured",
                "annual_premium",
                "payment_years",
                "walls",
                "cooling_off_days",
                "issued_on",
                "effective_on",
                "receipt_signed_on",
                "cooling_off_ends_on",
                "return_visit",
                "in_force_on",
                "version",
                "created_at",
                "updated_at",
            ],
            records=policies,
        )
        await conn.copy_records_to_table(
            "premium_dues",
            schema_name="policies",
            columns=[
                "id",
                "policy_id",
                "owner_agent_id",
                "team_id",
                "instalment",
                "due_on",
                "amount",
                "status",
                "paid_on",
            ],
            records=dues,
        )
        await conn.copy_records_to_table(
            "claims",
            schema_name="claims",
            columns=[
                "id",
                "policy_id",
                "client_id",
                "owner_agent_id",
                "team_id",
                "policy_number",
                "insurer",
                "product_name",
                "claim_type",
                "incident_date",
                "reported_on",
                "claimed_amount",
                "claimant_name",
                "claimant_relationship",
                "status",
                "submitted_on",
                "decision_due_on",
                "decided_on",
                "approved_amount",
                "paid_amount",
                "paid_on",
                "last_client_update_at",
                "documents_missing_since",
                "version",
                "created_at",
                "updated_at",
                "closed_at",
            ],
            records=claims,
        )
        for table in ("policies.applications", "policies.policies", "policies.premium_dues", "claims.claims"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return {
        "policies": len(policies),
        "claims": len(claims),
        "seconds": round(time.perf_counter() - started, 2),
    }
