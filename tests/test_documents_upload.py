"""Documents through the gateway (issue 20): upload, list, metadata, streamed download, thumbnail,
delete; a claim checklist item's file marks it received; a requirement's file offers to resolve it;
downloads are attachments, nosniff, scoped like their record and audited."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from services.documents import pdf_preview
from services.documents.images import has_gps
from tests import claims_support, clients_support
from tests.conftest import People, Stack
from tests.documents_support import (
    DOCUMENTS,
    DOCX,
    assert_problem,
    count_documents,
    image_with_gps,
    jpeg_with_gps,
    params,
    pdf_bytes,
    png_bytes,
    stored_objects,
    upload,
    uploaded,
    zip_of,
)


async def claim_item(
    api: httpx.AsyncClient, people: People, code: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    policy = await claims_support.issue_policy(api, people, people.agent)
    claim = await claims_support.report_claim(api, people.agent, policy["id"])
    item = next(d for d in claim["documents"] if d["code"] == code)
    return claim, item


async def test_a_pdf_uploads_lists_downloads_and_deletes(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    content = pdf_bytes(300_000)
    created = await uploaded(
        api,
        people.agent,
        params("client", client["id"], "id_copy"),
        name="身份证 复印件.PDF",
        content=content,
    )
    assert created["content_type"] == "application/pdf"
    assert created["filename"] == "身份证 复印件.pdf"
    assert created["size_bytes"] == len(content)
    assert created["client_id"] == client["id"]
    assert created["has_thumbnail"] is True  # its first page

    listed = await api.get(
        DOCUMENTS, params={"record_type": "client", "record_id": client["id"]}, headers=people.agent.headers
    )
    assert listed.status_code == 200, listed.text
    assert [d["id"] for d in listed.json()["items"]] == [created["id"]]

    download = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert download.status_code == 200, download.text
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"

    audited = await stack.fetch(
        "SELECT actor, action FROM documents.audit_log WHERE resource_id = $1 ORDER BY id", created["id"]
    )
    assert [r["action"] for r in audited] == ["document.uploaded", "document.downloaded"]
    assert audited[1]["actor"] == f"user:{people.agent.user_id}"

    # The object at rest is sealed: neither the PDF header nor the name appears in it.
    storage = stack.apps["documents"].state.storage
    (key,) = await stored_objects(stack)
    raw = b"".join([c async for c in storage.read(key)])
    assert b"%PDF" not in raw
    stored = await stack.fetch("SELECT filename_sealed, sha256 FROM documents.documents")
    assert "身份证".encode() not in stored[0]["filename_sealed"]

    stale = await api.delete(
        f"{DOCUMENTS}/{created['id']}", headers={**people.agent.headers, "If-Match": '"7"'}
    )
    assert_problem(stale, 412)
    deleted = await api.delete(
        f"{DOCUMENTS}/{created['id']}",
        headers={**people.agent.headers, "If-Match": f'"{created["version"]}"'},
    )
    assert deleted.status_code == 204, deleted.text
    # A deleted document is 404 (as if it never was: deleted records disappear from every read).
    assert_problem(await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers), 404)
    assert_problem(await api.get(f"{DOCUMENTS}/{created['id']}", headers=people.agent.headers), 404)
    listed = await api.get(
        DOCUMENTS, params={"record_type": "client", "record_id": client["id"]}, headers=people.agent.headers
    )
    assert listed.json()["items"] == []


async def test_another_agent_gets_404_for_the_document_and_its_record(
    api: httpx.AsyncClient, people: People
) -> None:
    client = await clients_support.create_client(api, people.agent)
    created = await uploaded(api, people.agent, params("client", client["id"], "id_copy"))
    for path in (f"{DOCUMENTS}/{created['id']}", f"{DOCUMENTS}/{created['id']}/content"):
        assert_problem(await api.get(path, headers=people.outsider.headers), 404)
    listed = await api.get(
        DOCUMENTS,
        params={"record_type": "client", "record_id": client["id"]},
        headers=people.outsider.headers,
    )
    assert_problem(listed, 404)
    # The team lead sees the team's.
    lead = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.lead.headers)
    assert lead.status_code == 200


async def test_a_photo_loses_its_gps_and_gets_a_thumbnail(api: httpx.AsyncClient, people: People) -> None:
    client = await clients_support.create_client(api, people.agent)
    photo = jpeg_with_gps()
    assert has_gps(photo)
    created = await uploaded(
        api,
        people.agent,
        params("client", client["id"], "id_copy"),
        name="IMG_0001.HEIC",
        content=photo,
        content_type="image/heic",
    )
    assert created["content_type"] == "image/jpeg"
    assert created["filename"] == "IMG_0001.jpg"
    assert created["gps_removed"] is True
    assert created["has_thumbnail"] is True
    download = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert download.status_code == 200
    assert not has_gps(download.content)
    with Image.open(io.BytesIO(download.content)) as image:
        assert image.size == (1200, 800)
        assert image.getexif()[0x010F] == "PhoneMaker"  # the rest of the EXIF stays
    thumb = await api.get(f"{DOCUMENTS}/{created['id']}/thumbnail", headers=people.agent.headers)
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 320


async def test_a_png_without_gps_is_stored_as_sent(api: httpx.AsyncClient, people: People) -> None:
    client = await clients_support.create_client(api, people.agent)
    content = png_bytes()
    created = await uploaded(
        api, people.agent, params("client", client["id"], "other"), name="chart.png", content=content
    )
    assert created["gps_removed"] is False
    download = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert download.content == content


async def test_a_pdf_gets_its_first_page_as_thumbnail(api: httpx.AsyncClient, people: People) -> None:
    client = await clients_support.create_client(api, people.agent)
    created = await uploaded(api, people.agent, params("client", client["id"], "id_copy"))
    assert created["has_thumbnail"] is True
    thumb = await api.get(f"{DOCUMENTS}/{created['id']}/thumbnail", headers=people.agent.headers)
    assert thumb.status_code == 200, thumb.text
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 320  # the page is 200 x 200 points


async def test_a_pdf_that_cannot_be_drawn_uploads_without_thumbnail(
    api: httpx.AsyncClient, people: People
) -> None:
    """A PDF header over bytes PDFium cannot read: the file is kept as sent, with no preview."""
    client = await clients_support.create_client(api, people.agent)
    content = b"%PDF-1.7\n" + b"not really a pdf body " * 50
    created = await uploaded(
        api, people.agent, params("client", client["id"], "other"), name="odd.pdf", content=content
    )
    assert created["has_thumbnail"] is False
    assert_problem(await api.get(f"{DOCUMENTS}/{created['id']}/thumbnail", headers=people.agent.headers), 404)
    download = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert download.content == content


async def test_a_claim_items_file_marks_it_received(api: httpx.AsyncClient, people: People) -> None:
    claim, item = await claim_item(api, people, "diagnosis_certificate")
    assert item["status"] == "missing"
    created = await uploaded(
        api,
        people.agent,
        params("claim_document", item["id"], "diagnosis_certificate", claim["id"]),
        name="诊断证明书.pdf",
    )
    assert created["checklist_item_received"] is True
    after = await api.get(f"/api/v1/claims/{claim['id']}", headers=people.agent.headers)
    marked = next(d for d in after.json()["documents"] if d["id"] == item["id"])
    assert marked["status"] == "received"
    # A second file for the same item changes nothing on the claim.
    again = await uploaded(
        api,
        people.agent,
        params("claim_document", item["id"], "medical_records", claim["id"]),
        name="病历.pdf",
    )
    assert again["checklist_item_received"] is False


async def test_a_requirements_file_offers_to_resolve_it(api: httpx.AsyncClient, people: People) -> None:
    from tests import policies_support

    client = await policies_support.create_client(api, people.agent)
    product = await policies_support.create_product(api, people.admin)
    application = await policies_support.create_application(api, people.agent, client["id"], product["id"])
    path = f"/api/v1/policies/applications/{application['id']}"
    application = await policies_support.act(api, people.agent, f"{path}/submit", application["version"])
    application = await policies_support.act(
        api, people.agent, f"{path}/underwriting", application["version"]
    )
    added = await policies_support.act(
        api,
        people.agent,
        f"{path}/requirements",
        application["version"],
        {"kind": "medical_examination_report", "due_on": policies_support.today().isoformat()},
    )
    requirement = added["requirements"][0]
    created = await uploaded(
        api,
        people.agent,
        params("application_requirement", requirement["id"], "exam_report", application["id"]),
    )
    (offer,) = created["offered_actions"]
    assert offer["href"].endswith(f"/requirements/{requirement['id']}/resolve")
    assert offer["body"]["status"] == "received"


async def test_the_changes_feed_carries_metadata_not_content(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    await uploaded(api, people.agent, params("client", client["id"], "id_copy"), name="张三身份证.pdf")
    feed = await api.get(f"{DOCUMENTS}/changes", headers=people.agent.headers)
    assert feed.status_code == 200, feed.text
    text = feed.text
    assert '"sha256"' in text
    assert "张三" not in text
    assert "%PDF" not in text
    assert await count_documents(stack) == 1
    changes = feed.json()["items"]
    assert [c["type"] for c in changes] == ["document"]
    outsider = await api.get(f"{DOCUMENTS}/changes", headers=people.outsider.headers)
    assert outsider.json()["items"] == []


async def test_an_upload_to_a_complaint_and_a_policy(api: httpx.AsyncClient, people: People) -> None:
    policy = await claims_support.issue_policy(api, people, people.agent)
    created = await uploaded(api, people.agent, params("policy", policy["id"], "receipt"), name="回执.pdf")
    assert created["retain_until"] is not None
    assert created["client_id"] == policy["client_id"]
    bad_parent = await upload(api, people.agent, params("complaint", policy["id"], "communication_record"))
    assert_problem(bad_parent, 422)


async def test_a_retried_upload_with_an_idempotency_key_stores_one_document(
    api: httpx.AsyncClient, people: People, stack: Stack
) -> None:
    client = await clients_support.create_client(api, people.agent)
    query = params("client", client["id"], "id_copy")
    content = pdf_bytes(150_000)
    # A retry resends the same bytes: the same multipart boundary, too.
    headers = {
        **people.agent.headers,
        "Idempotency-Key": "upload-1",
        "Content-Type": "multipart/form-data; boundary=retry-boundary-1",
    }
    sent = {"file": ("scan.pdf", content, "application/pdf")}
    first = await api.post(DOCUMENTS, params=query, files=sent, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.post(DOCUMENTS, params=query, files=sent, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = {"file": ("scan.pdf", pdf_bytes(150_001), "application/pdf")}
    assert_problem(await api.post(DOCUMENTS, params=query, files=other, headers=headers), 422)
    assert await count_documents(stack) == 1
    assert len(await stored_objects(stack)) == 1


@pytest.mark.parametrize(("fmt", "mime"), [("HEIF", "image/heic"), ("WEBP", "image/webp")])
async def test_heic_and_webp_photos_lose_their_gps_too(
    api: httpx.AsyncClient, people: People, fmt: str, mime: str
) -> None:
    client = await clients_support.create_client(api, people.agent)
    photo = image_with_gps(fmt)
    assert has_gps(photo)
    created = await uploaded(
        api,
        people.agent,
        params("client", client["id"], "id_copy"),
        name="photo",
        content=photo,
        content_type=mime,
    )
    assert created["content_type"] == mime
    assert created["gps_removed"] is True
    download = await api.get(f"{DOCUMENTS}/{created['id']}/content", headers=people.agent.headers)
    assert not has_gps(download.content)
    thumb = await api.get(f"{DOCUMENTS}/{created['id']}/thumbnail", headers=people.agent.headers)
    assert thumb.status_code == 200


async def test_a_word_document_is_accepted(api: httpx.AsyncClient, people: People) -> None:
    client = await clients_support.create_client(api, people.agent)
    content = zip_of(DOCX)
    created = await uploaded(
        api, people.agent, params("client", client["id"], "other"), name="需求分析.docx", content=content
    )
    assert created["content_type"].endswith("wordprocessingml.document")
    assert created["filename"] == "需求分析.docx"


async def test_a_complaints_communication_record(api: httpx.AsyncClient, people: People) -> None:
    from tests.test_clients_complaints import receive

    client = await clients_support.create_client(api, people.agent)
    complaint = await receive(api, people.agent, client["id"])
    query = params("complaint", complaint["id"], "communication_record", client["id"])
    created = await uploaded(api, people.agent, query, name="通话记录.pdf")
    assert created["record"] == {"type": "complaint", "id": complaint["id"], "parent_id": client["id"]}
    assert created["client_id"] == client["id"]
    listed = await api.get(
        DOCUMENTS, params={k: v for k, v in query.items() if k != "kind"}, headers=people.agent.headers
    )
    assert [d["id"] for d in listed.json()["items"]] == [created["id"]]
    # The complaint under another client of the same agent is not this record.
    other = await clients_support.create_client(api, people.agent)
    assert_problem(
        await upload(api, people.agent, params("complaint", complaint["id"], "other", other["id"])), 404
    )
    assert_problem(await upload(api, people.outsider, query), 404)


async def test_a_pdf_over_the_preview_size_has_no_thumbnail(
    api: httpx.AsyncClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only PDFs up to ``MAX_PDF_BYTES`` are drawn (memory stays flat while a large one streams)."""
    monkeypatch.setattr(pdf_preview, "MAX_PDF_BYTES", 2048)
    client = await clients_support.create_client(api, people.agent)
    created = await uploaded(
        api, people.agent, params("client", client["id"], "other"), content=pdf_bytes(4096)
    )
    assert created["has_thumbnail"] is False
