"""The bench's reference: the least an HTTP service can do to serve a client by id.

FastAPI and asyncpg only: no auth, no ORM, no middleware, no pydantic model. One route,
``GET /api/v1/clients/{id}``, one prepared primary-key select on a pool, and the same JSON bytes as
the clients service's GET by id (field order, masked values, dates, ``Z`` for UTC) with the same
``ETag``. The clients service does not decrypt on this path either: the masked identity number and
phone are columns of their own (``resident_id_masked``, ``phone_masked``), so neither app touches
the cipher and the comparison is like for like. What the reference leaves out is what the real
service pays for: the bearer token and its scope, the agent's visibility filter, SQLAlchemy, the
response model, the middleware (request ids, logging, metrics).

Served like every app (``python -m launcher.serve bench.reference_app:app --port N``, uvicorn with
uvloop and httptools); the database is ``CRM_DATABASE_URL``, the pool ``CRM_DB_POOL_SIZE``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Response

SELECT = (
    "SELECT id, name, gender, birth_date, id_document_type, resident_id_masked, id_document_country, "
    "phone_masked, occupation, occupation_class, channel, referred_by_client_id, notes, tier, "
    "next_follow_up_on, owner_agent_id, team_id, version, created_at, updated_at "
    "FROM clients.clients WHERE id = $1 AND deleted_at IS NULL"
)
NOT_FOUND = b'{"type":"about:blank","title":"Not Found","status":404}'


def _when(value: datetime) -> str:
    """As pydantic writes an aware datetime: ISO 8601, ``Z`` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def body(row: asyncpg.Record) -> bytes:
    """The clients service's ``ClientRead`` of a row, byte for byte."""
    number = row["resident_id_masked"]
    document = row["id_document_type"]
    fields: dict[str, Any] = {
        "id": str(row["id"]),
        "name": row["name"],
        "gender": row["gender"],
        "birth_date": _day(row["birth_date"]),
        "id_document_type": document,
        "id_document_number": number,
        "id_document_country": row["id_document_country"],
        "resident_id": number if document == "resident_id" else None,
        "phone": row["phone_masked"],
        "occupation": row["occupation"],
        "occupation_class": row["occupation_class"],
        "channel": row["channel"],
        "referred_by_client_id": _id(row["referred_by_client_id"]),
        "notes": row["notes"],
        "tier": row["tier"],
        "next_follow_up_on": _day(row["next_follow_up_on"]),
        "owner_agent_id": str(row["owner_agent_id"]),
        "team_id": _id(row["team_id"]),
        "version": row["version"],
        "created_at": _when(row["created_at"]),
        "updated_at": _when(row["updated_at"]),
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["CRM_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1)
    size = int(os.environ.get("CRM_DB_POOL_SIZE", "10"))
    async with asyncpg.create_pool(url, min_size=1, max_size=size) as pool:
        app.state.pool = pool
        yield


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/readyz")
async def readyz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@app.get("/api/v1/clients/{client_id}")
async def get_client(client_id: uuid.UUID) -> Response:
    pool: asyncpg.Pool = app.state.pool
    row = await pool.fetchrow(SELECT, client_id)
    if row is None:
        return Response(NOT_FOUND, status_code=404, media_type="application/problem+json")
    return Response(body(row), media_type="application/json", headers={"ETag": f'W/"{row["version"]}"'})
