"""Demo data stage: documents (issue 20), through the gateway's public API.

- the diagnosis certificate (诊断证明书) of 张伟's critical-illness claim, on its checklist item;
- a scan of the signed receipt (回执) on an issued policy.

Idempotent: a record that already has a document of the kind is left alone.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from launcher.demo_data import DemoContext

DOCUMENTS = "/api/v1/documents"


def certificate_pdf() -> bytes:
    """A one-page PDF standing in for the hospital's certificate."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
        b"4 0 obj<</Length 44>>stream\n"
        b"BT /F1 18 Tf 72 760 Td (Diagnosis certificate) Tj ET\nendstream endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def receipt_scan() -> bytes:
    """A phone photo of a signed receipt (a drawn stand-in)."""
    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 1160, 1674), outline="black", width=4)
    draw.text((120, 120), "Policy receipt / signed", fill="black")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _has(ctx: DemoContext, agent: str, query: dict[str, str], kind: str) -> bool:
    listed = ctx.http.get(DOCUMENTS, params=query, headers=ctx.auth(agent))
    listed.raise_for_status()
    return any(d["kind"] == kind for d in listed.json()["items"])


def _upload(
    ctx: DemoContext, agent: str, query: dict[str, str], kind: str, name: str, content: bytes, mime: str
) -> None:
    response = ctx.http.post(
        DOCUMENTS,
        params={**query, "kind": kind},
        files={"file": (name, content, mime)},
        headers=ctx.auth(agent),
    )
    if response.status_code != 201:
        raise RuntimeError(f"demo document {name}: {response.status_code} {response.text[:300]}")


def load(ctx: DemoContext) -> None:
    agent = "wang"
    claims: list[str] = ctx.shared.get("claim_ids", [])
    certificate_done = False
    for claim_id in claims:
        answer = ctx.http.get(f"/api/v1/claims/{claim_id}", headers=ctx.auth(agent))
        if answer.status_code != 200:
            continue
        claim: dict[str, Any] = answer.json()
        item = next((d for d in claim["documents"] if d["code"] == "diagnosis_certificate"), None)
        if item is None:
            continue
        query = {"record_type": "claim_document", "record_id": item["id"], "parent_id": claim_id}
        created = not _has(ctx, agent, query, "diagnosis_certificate")
        if created:
            _upload(
                ctx,
                agent,
                query,
                "diagnosis_certificate",
                "诊断证明书.pdf",
                certificate_pdf(),
                "application/pdf",
            )
        ctx.report.note(created, "diagnosis certificate on the critical-illness claim")
        certificate_done = True
        break
    if not certificate_done:
        ctx.report.note(False, "diagnosis certificate skipped: no critical-illness claim")

    listed = ctx.http.get("/api/v1/policies", params={"limit": 200}, headers=ctx.auth(agent))
    listed.raise_for_status()
    first: dict[str, str] | None = None
    for policy_id in sorted(p["id"] for p in listed.json()["items"]):
        query = {"record_type": "policy", "record_id": policy_id}
        try:
            if _has(ctx, agent, query, "receipt"):
                ctx.report.note(False, "receipt scan on a policy")
                return
        except httpx.HTTPStatusError:
            continue  # another agent's policy
        first = first or query
    if first is None:
        ctx.report.note(False, "receipt scan skipped: no issued policy")
        return
    _upload(ctx, agent, first, "receipt", "回执扫描.jpg", receipt_scan(), "image/jpeg")
    ctx.report.note(True, "receipt scan on a policy")
