"""Shared helpers for the documents tests (no tests here): sample files, uploads, storage probes."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.conftest import Person, Stack

DOCUMENTS = "/api/v1/documents"
PROBLEM_JSON = "application/problem+json"


def pdf_bytes(size: int = 4096) -> bytes:
    """A small well-formed PDF, padded with a comment to ``size`` bytes."""
    body = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n"
    )
    padding = max(0, size - len(body) - len(b"%%EOF\n"))
    return body + b"%" + b"x" * max(0, padding - 2) + b"\n%%EOF\n"


def jpeg_with_gps(width: int = 1200, height: int = 800) -> bytes:
    """A JPEG whose EXIF holds a GPS position (Shanghai), as a phone camera writes it."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (31.0, 14.0, 0.0)
    gps[3] = "E"
    gps[4] = (121.0, 28.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 128, 255)).save(out, format="PNG")
    return out.getvalue()


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program"
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Invoice</title></head><body>pay here</body></html>\n" * 20


def files(name: str, content: bytes, content_type: str = "application/pdf") -> dict[str, Any]:
    return {"file": (name, content, content_type)}


def params(record_type: str, record_id: str, kind: str, parent_id: str | None = None) -> dict[str, str]:
    query = {"record_type": record_type, "record_id": record_id, "kind": kind}
    if parent_id is not None:
        query["parent_id"] = parent_id
    return query


async def upload(
    api: httpx.AsyncClient,
    person: Person,
    query: dict[str, str],
    name: str = "scan.pdf",
    content: bytes | None = None,
    content_type: str = "application/pdf",
) -> httpx.Response:
    return await api.post(
        DOCUMENTS,
        params=query,
        files=files(name, pdf_bytes() if content is None else content, content_type),
        headers=person.headers,
    )


async def uploaded(
    api: httpx.AsyncClient, person: Person, query: dict[str, str], **kwargs: Any
) -> dict[str, Any]:
    response = await upload(api, person, query, **kwargs)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def count_documents(stack: Stack) -> int:
    return int((await stack.fetch("SELECT count(*) FROM documents.documents"))[0][0])


async def stored_objects(stack: Stack) -> list[str]:
    """The stored files' objects (not their `.thumb` previews: an image or a PDF has one as well)."""
    return [key for key in await every_stored_object(stack) if not key.endswith(".thumb")]


async def every_stored_object(stack: Stack) -> list[str]:
    """Every object in storage, previews included: what "nothing left behind" is checked against."""
    storage = stack.apps["documents"].state.storage
    keys: list[str] = await storage.keys()
    return keys


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def image_with_gps(fmt: str) -> bytes:
    """A HEIF or WEBP image (as phones save them) whose EXIF holds a GPS position."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    image = Image.new("RGB", (640, 480), (10, 200, 30))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (31.0, 14.0, 0.0)
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def zip_of(entries: dict[str, str]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return out.getvalue()


DOCX = {
    "[Content_Types].xml": "<Types/>",
    "_rels/.rels": "<Relationships/>",
    "word/document.xml": "<w:document/>",
}
