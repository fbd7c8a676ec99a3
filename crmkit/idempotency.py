"""``Idempotency-Key`` on creating POSTs, stored in the service's own schema, per caller.

The key, the created resource and the stored response commit in one transaction: the middleware
opens the request's session, the handler borrows it (see ``db.get_session``), and the response is
released to the client only after the commit. So a retry can never create a second record, and a
crash between "created" and "remembered" cannot happen.

- same key, same body, within the TTL → the first response, replayed (``Idempotent-Replayed: true``)
- same key, different body → 422
- same key while the first request is still running → 409 (a transaction-scoped advisory lock)
- only 2xx responses are remembered; a failed attempt can be retried with the same key
- a route whose answer holds a credential (a sign-in's tokens, a new API key, a webhook's signing
  secret) refuses the header with 400: replaying it would keep the secret in plain text for a day
  and hand it out again (a replayed refresh would even bypass reuse detection). Such routes are
  marked ``openapi_extra=MINTS_CREDENTIALS``; a client retries them without the header (a
  duplicate API key or subscription can be revoked; sign-in and refresh create nothing twice).
"""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Interval, Select, String, Table, and_, bindparam, delete, func, literal, select, true
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkit.auth import decode_access_token
from crmkit.body_limit import send_problem
from crmkit.infra_tables import InfraTables
from crmkit.problems import ProblemError, problem_kind

HEADER = b"idempotency-key"
BAD_KEY = problem_kind("bad-idempotency-key", "Invalid Idempotency-Key", 400)
IN_PROGRESS = problem_kind("idempotency-in-progress", "Request in progress", 409)
KEY_REUSED = problem_kind("idempotency-key-reused", "Idempotency-Key reused", 422)


class IdempotencyNotSupported(ProblemError):
    status, title, slug = 400, "Idempotency-Key not accepted here", "idempotency-not-supported"


async def _refuse_idempotency_key(request: Request) -> None:
    # Nothing this request did is remembered: the answer is not 2xx, so the middleware rolls back.
    if HEADER.decode() in request.headers:
        raise IdempotencyNotSupported(
            "this request issues a credential, which is never stored for replay;"
            " send it without an Idempotency-Key"
        )


MINTS_CREDENTIALS: dict[str, Any] = {
    "dependencies": [Depends(_refuse_idempotency_key)],
    "openapi_extra": {"x-mints-credentials": True},
}
"""``@router.post(..., **MINTS_CREDENTIALS)``: the answer holds a credential, so ``Idempotency-Key``
is refused (400) and the route is marked ``x-mints-credentials`` in OpenAPI."""

NEVER_REPLAYED: dict[str, Any] = {"openapi_extra": {"x-never-replayed": True}}
"""``@router.post(..., **NEVER_REPLAYED)``: the answer must never be stored (an unmasked identifier);
the route refuses ``Idempotency-Key`` itself, and OpenAPI does not offer the header."""
_KEPT_HEADERS = {b"content-type", b"etag", b"location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        caller = self._caller(scope, headers.get(b"authorization"))
        if caller is None:  # unauthenticated: the handler answers 401 and nothing is stored
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not 1 <= len(key) <= 255:
            await send_problem(
                send,
                scope,
                status=400,
                title="Invalid Idempotency-Key",
                slug=BAD_KEY,
                detail="Idempotency-Key must be 1 to 255 characters",
            )
            return

        # The body is hashed as it passes, never held: a document upload may be 64 MiB.
        body = _HashedBody(
            receive,
            b"\x00".join(
                [scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), b""]
            ),
        )
        state = scope["app"].state
        tables: InfraTables = state.infra_tables
        sessions: async_sessionmaker[Any] = state.sessions
        table = tables.idempotency_keys
        ttl = timedelta(hours=state.settings.idempotency_ttl_hours)

        lock_and_lookup, lookup, remember = _statements(table)
        found = {"caller": caller, "key": key, "ttl": ttl}

        async with sessions() as session:
            # One round trip: the key's lock, and the answer stored under it. The lookup reads the
            # statement's snapshot, taken before the lock was granted, so it can miss an answer
            # committed in between; ``remember`` catches that (below).
            stored = (
                await session.execute(lock_and_lookup, {"k": f"{table.fullname}:{caller}:{key}", **found})
            ).one()
            if not stored.locked:
                await session.rollback()
                await _in_progress(send, scope)
                return
            if stored.request_hash is not None:
                await session.rollback()
                await _answer_stored(send, scope, body, stored)
                return

            scope.setdefault("state", {})["db_session"] = session
            captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.start":
                    captured["status"] = message["status"]
                    captured["headers"] = list(message.get("headers", []))
                elif message["type"] == "http.response.body":
                    captured["body"].extend(message.get("body", b""))

            try:
                await self.app(scope, body.receive, capture)
            except BaseException:
                await session.rollback()
                raise
            finally:
                scope["state"].pop("db_session", None)

            status = captured["status"]
            if 200 <= status < 300:
                await body.drain()  # a handler that ignored (part of) the body: hash the rest
                digest = body.digest()
                kept = {k.decode(): v.decode("latin-1") for k, v in captured["headers"] if k in _KEPT_HEADERS}
                values = {
                    **found,
                    "request_hash": digest,
                    "status_code": status,
                    "response_headers": kept,
                    "response_body": bytes(captured["body"]),
                    "created_at": datetime.now(UTC),
                }
                if (await session.execute(remember, values)).rowcount != 1:
                    # A live answer under this key that the lookup's snapshot missed (committed
                    # just before the lock was granted): this attempt is undone, that one stands.
                    await session.rollback()
                    stored = (await session.execute(lookup, found)).one_or_none()
                    await session.rollback()
                    if stored is None:  # expired in the meantime: nothing to replay, retry anew
                        await _in_progress(send, scope)
                    else:
                        await _answer_stored(send, scope, body, stored)
                    return
                await session.commit()
            else:
                await session.rollback()

        await send({"type": "http.response.start", "status": status, "headers": captured["headers"]})
        await send({"type": "http.response.body", "body": bytes(captured["body"])})

    @staticmethod
    def _caller(scope: Scope, authorization: bytes | None) -> str | None:
        if not authorization or not authorization.lower().startswith(b"bearer "):
            return None
        try:
            principal = decode_access_token(scope["app"].state.settings, authorization[7:].decode("latin-1"))
        except ProblemError:
            return None
        return principal.actor


_STORED = ("request_hash", "status_code", "response_headers", "response_body", "created_at")


@functools.cache
def _statements(table: Table) -> tuple[Select[Any], Select[Any], Insert]:
    """Built once per table (rebuilding them cost a tenth of a POST's CPU):

    - the key's lock (``k``) and the answer stored under it, if any (``caller``, ``key``, ``ttl``):
      one row, ``locked`` and the stored columns (null when nothing live is stored);
    - the stored answer alone (the same parameters, without ``k``);
    - the upsert that remembers an answer (every column, and ``ttl``): it replaces an expired
      answer, never a live one, so it writes no row when a live one is there.
    """
    live = and_(
        table.c.caller == bindparam("caller"),
        table.c.key == bindparam("key"),
        table.c.created_at > func.now() - bindparam("ttl", type_=Interval()),
    )
    stored = select(*(table.c[name] for name in _STORED)).where(live).subquery("stored")
    locked = func.pg_try_advisory_xact_lock(func.hashtextextended(bindparam("k", type_=String()), 0))
    lock_and_lookup = select(locked.label("locked"), *stored.c).select_from(
        select(literal(1).label("one")).subquery("one").outerjoin(stored, true())
    )
    lookup = select(table).where(live)
    insert = pg_insert(table)
    remember = insert.on_conflict_do_update(
        index_elements=[table.c.caller, table.c.key],
        set_={name: insert.excluded[name] for name in _STORED},
        where=table.c.created_at <= func.now() - bindparam("ttl", type_=Interval()),
    )
    return lock_and_lookup, lookup, remember


async def _in_progress(send: Send, scope: Scope) -> None:
    await send_problem(
        send,
        scope,
        status=409,
        title="Request in progress",
        slug=IN_PROGRESS,
        detail="a request with this Idempotency-Key is still being processed; retry shortly",
    )


async def _answer_stored(send: Send, scope: Scope, body: _HashedBody, stored: Any) -> None:
    """The answer stored under the key: replayed for the same request, 422 for another body."""
    await body.drain()
    if stored.request_hash != body.digest():
        await send_problem(
            send,
            scope,
            status=422,
            title="Idempotency-Key reused",
            slug=KEY_REUSED,
            detail="this Idempotency-Key was used with a different request body",
        )
        return
    await _replay(send, stored.status_code, stored.response_headers, stored.response_body)


class _HashedBody:
    """The request body as the app reads it, hashed on the way (SHA-256 of ``prefix`` + body, the
    same digest as hashing the whole body at once); ``drain`` reads and hashes what is left."""

    def __init__(self, receive: Receive, prefix: bytes) -> None:
        self._receive = receive
        self._hash = hashlib.sha256(prefix)
        self._done = False

    async def receive(self) -> Message:
        message = await self._receive()
        if self._done:
            return message
        if message["type"] == "http.request":
            self._hash.update(message.get("body", b""))
            self._done = not message.get("more_body", False)
        elif message["type"] == "http.disconnect":
            self._done = True
        return message

    async def drain(self) -> None:
        while not self._done:
            await self.receive()

    def digest(self) -> bytes:
        return self._hash.digest()


async def _replay(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"idempotent-replayed", b"true"))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def purge_expired(engine: AsyncEngine, tables: InfraTables, ttl_hours: int) -> int:
    """Delete keys past their TTL; run periodically by the app's lifespan."""
    table = tables.idempotency_keys
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(table).where(table.c.created_at < func.now() - timedelta(hours=ttl_hours))
        )
    return int(result.rowcount or 0)
