# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Demo data stage: claims with client updates due (the claims service).

Loaded by ``launcher.demo_data.load`` after the users, clients and policies exist; idempotent like
the rest (a claim of the same type on the same policy is looked up before creating, so a second
``make run`` creates nothing twice). Everything goes through the gateway's public API.

Three claims, dated relative to today (and never before the policy took effect):
- 张伟, critical illness, collecting documents: half the checklist in, last told the client 12 days
  ago → on the "updates due" and "documents missing" work lists.
- 张伟, accident (his accident policy), submitted to the insurer 35 days ago and under review →
  "decision overdue" and, last told 10 days ago, "updates due".
- a client of 李强, medical, walked to paid (approved a little below the claimed amount).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx

if TYPE_CHECKING:
    from launcher.demo_data import DemoContext

API = "/api/v1"
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class DemoClaim:
    agent: str  # DemoUser.key
    clients: tuple[str, ...]  # the first of these with a policy is used
    claim_type: str
    incident_days_ago: int
    reported_days_ago: int
    claimed_amount: str
    description: str
    received: tuple[str, ...] | None  # checklist codes received; None = all
    last_update_days_ago: int
    update_summary: str
    submitted_days_ago: int | None = None
    decision: tuple[str, str] | None = None  # (approved amount, paid amount)


CLAIMS = (
    DemoClaim(
        "wang", ("张伟",), "critical_illness", 25, 20, "500000.00",
        "体检发现甲状腺结节，病理确诊甲状腺乳头状癌，已手术。",
        ("claim_form", "id_copy", "diagnosis_certificate"), 12,
        "已收到申请书、身份证和诊断证明；提醒客户尽快到医院复印病历和病理报告。",
    ),
    DemoClaim(
        "wang", ("张伟",), "accident", 50, 45, "38600.00",
        "周末打篮球时摔倒，右腿胫骨骨折，住院治疗。",
        None, 10, "资料已提交保险公司，理赔审核中，有进展第一时间通知。",
        submitted_days_ago=35,
    ),
    DemoClaim(
        "li", ("杨秀英", "黄磊", "周婷"), "medical", 30, 28, "8650.00",
        "急性阑尾炎住院手术，自付部分申请报销。",
        None, 2, "理赔款已到账，共8000元，扣除社保已报销部分。",
        submitted_days_ago=20, decision=("8000.00", "8000.00"),
    ),
)  # fmt: skip


class DemoClaimError(RuntimeError):
    pass


def _ok(response: httpx.Response, doing: str) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise DemoClaimError(f"{doing}: HTTP {response.status_code} {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


WALL_OF_CLAIM = {"critical_illness": "critical_illness", "medical": "medical", "accident": "accident"}


def _policy_for(ctx: DemoContext, spec: DemoClaim) -> tuple[str, dict[str, Any]] | None:
    """The first listed client with a policy in force covering the claim's wall, in force longest."""
    for name in spec.clients:
        client_id = ctx.client_ids.get(name)
        if client_id is None:
            continue
        response = ctx.http.get(
            f"{API}/policies", params={"client_id": client_id, "limit": "200"}, headers=ctx.auth(spec.agent)
        )
        if response.status_code != 200:
            continue
        covering = [
            p
            for p in response.json().get("items", [])
            if p.get("status") in ("receipt_signed", "return_visit_done", "in_force")
            and p.get("effective_on")
            and WALL_OF_CLAIM.get(spec.claim_type, "death") in {w["wall"] for w in p.get("walls") or []}
        ]
        if covering:
            return name, min(covering, key=lambda p: str(p["effective_on"]))
    return None


def _when(days_ago: int, floor: date, today: date) -> date:
    return min(max(today - timedelta(days=days_ago), floor), today)


def _move(
    ctx: DemoContext, spec: DemoClaim, claim: dict[str, Any], status: str, **fields: Any
) -> dict[str, Any]:
    headers = {**ctx.auth(spec.agent), "If-Match": f'W/"{claim["version"]}"'}
    response = ctx.http.post(
        f"{API}/claims/{claim['id']}/transitions", json={"status": status, **fields}, headers=headers
    )
    return _ok(response, f"move claim {claim['id']} to {status}")


def _receive(ctx: DemoContext, spec: DemoClaim, claim: dict[str, Any]) -> dict[str, Any]:
    for document in claim["documents"]:
        if spec.received is not None and document["code"] not in spec.received:
            continue
        headers = {**ctx.auth(spec.agent), "If-Match": f'W/"{claim["version"]}"'}
        response = ctx.http.patch(
            f"{API}/claims/{claim['id']}/documents/{document['id']}",
            json={"status": "received"},
            headers=headers,
        )
        claim = _ok(response, f"receive {document['code']}")
    return claim


def _create(ctx: DemoContext, spec: DemoClaim, client: str, policy: dict[str, Any]) -> str:
    today = datetime.now(ZONE).date()
    effective = date.fromisoformat(str(policy["effective_on"]))
    incident = _when(spec.incident_days_ago, effective, today)
    reported = _when(spec.reported_days_ago, incident, today)
    body = {
        "policy_id": policy["id"],
        "claim_type": spec.claim_type,
        "incident_date": incident.isoformat(),
        "reported_on": reported.isoformat(),
        "claimed_amount": spec.claimed_amount,
        "claimant": {
            "name": client,
            "relationship": "self",
            "bank_name": "招商银行",
            "bank_account": "6225880123456789",
        },
        "description": spec.description,
    }
    claim = _ok(
        ctx.http.post(f"{API}/claims", json=body, headers=ctx.auth(spec.agent)), f"report claim for {client}"
    )
    claim = _move(ctx, spec, claim, "collecting_documents", note="已指导客户准备理赔资料")
    claim = _receive(ctx, spec, claim)
    if spec.submitted_days_ago is not None:
        submitted = _when(spec.submitted_days_ago, reported, today)
        claim = _move(ctx, spec, claim, "submitted", submitted_on=submitted.isoformat())
        claim = _move(ctx, spec, claim, "under_review")
    if spec.decision is not None:
        approved, paid = spec.decision
        claim = _move(
            ctx,
            spec,
            claim,
            "approved",
            approved_amount=approved,
            insurer_reference=f"LP-{claim['id'][:8].upper()}",
            decided_on=datetime.now(ZONE).date().isoformat(),
        )
        claim = _move(ctx, spec, claim, "paid", paid_amount=paid)
    contacted = datetime.combine(_when(spec.last_update_days_ago, reported, today), time(10, 0), tzinfo=ZONE)
    contacted = min(contacted, datetime.now(ZONE))
    _ok(
        ctx.http.post(
            f"{API}/claims/{claim['id']}/client-updates",
            json={"channel": "wechat", "summary": spec.update_summary, "contacted_at": contacted.isoformat()},
            headers=ctx.auth(spec.agent),
        ),
        f"client update on the claim of {client}",
    )
    return str(claim["id"])


def load(ctx: DemoContext) -> None:
    """Claims on the demo policies: one collecting documents, one awaiting the insurer, one paid."""
    claim_ids: list[str] = []
    for spec in CLAIMS:
        found = _policy_for(ctx, spec)
        if found is None:
            ctx.report.note(
                False, f"{spec.claim_type} claim skipped: no policy in force for {'/'.join(spec.clients)}"
            )
            continue
        client, policy = found
        params = {"policy_id": str(policy["id"]), "claim_type": spec.claim_type}
        existing = _ok(
            ctx.http.get(f"{API}/claims", params=params, headers=ctx.auth(spec.agent)), "list claims"
        )
        what = f"{spec.claim_type} claim of {client}"
        if existing.get("items"):
            claim_ids.append(str(existing["items"][0]["id"]))
            ctx.report.note(False, what)
            continue
        claim_ids.append(_create(ctx, spec, client, policy))
        ctx.report.note(True, what)
    ctx.shared["claim_ids"] = claim_ids
