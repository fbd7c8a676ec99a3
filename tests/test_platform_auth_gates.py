"""``require_roles`` / ``require_scope`` / ``PrincipalDep``: one dependency level each, the same answers
and the same OpenAPI as the plain ``HTTPBearer`` scheme (crmkit/auth.py, ``PrincipalBearer``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials

from crmkit import auth
from crmkit.auth import (
    Principal,
    PrincipalDep,
    Role,
    bearer,
    issue_access_token,
    require_roles,
    require_scope,
)
from crmkit.problems import install_problem_handlers
from crmkit.settings import CommonSettings

SETTINGS = CommonSettings(environment="development")


def _app() -> FastAPI:
    app = FastAPI()
    app.state.settings = SETTINGS
    install_problem_handlers(app)
    router = APIRouter(dependencies=[require_roles(Role.AGENT, Role.ADMIN)])

    @router.get("/gated")
    async def gated(principal: Annotated[Principal, require_scope("clients:read")], request: Request) -> Any:
        return {"user": str(principal.user_id), "state": str(request.state.principal.user_id)}

    @router.get("/plain")
    async def plain(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Any:
        return {}

    @router.get("/caller")
    async def caller(principal: PrincipalDep) -> Any:
        return {"role": principal.role.value}

    app.include_router(router)
    return app


@asynccontextmanager
async def _client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _token(role: Role, scopes: frozenset[str] | None = None) -> dict[str, str]:
    token = issue_access_token(SETTINGS, user_id=uuid.uuid4(), role=role, team_id=None, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def test_the_gates_document_the_bearer_scheme_as_it_is() -> None:
    document = _app().openapi()
    security = {path: item["get"].get("security") for path, item in document["paths"].items()}
    assert security == {path: [{"HTTPBearer": []}] for path in ("/gated", "/plain", "/caller")}
    scheme = {"type": "http", "scheme": "bearer", "description": "Access token from POST /api/v1/auth/token"}
    assert document["components"]["securitySchemes"] == {"HTTPBearer": scheme}


async def test_a_valid_token_of_an_admitted_role_and_scope_passes_and_is_kept_on_the_request() -> None:
    headers = _token(Role.AGENT)
    async with _client() as client:
        answer = await client.get("/gated", headers=headers)
        assert answer.status_code == 200
        assert answer.json()["user"] == answer.json()["state"]
        admin = await client.get("/caller", headers=_token(Role.ADMIN, frozenset({"clients:read"})))
        assert admin.json() == {"role": "admin"}


async def test_missing_or_invalid_tokens_are_401_with_a_challenge() -> None:
    async with _client() as client:
        missing = await client.get("/gated")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["detail"] == "missing bearer token"
        basic = await client.get("/gated", headers={"Authorization": "Basic abc"})
        assert basic.status_code == 401
        invalid = await client.get("/gated", headers={"Authorization": "Bearer not-a-token"})
        assert invalid.status_code == 401
        assert invalid.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_a_role_outside_the_router_or_a_key_without_the_scope_is_403() -> None:
    async with _client() as client:
        ops = await client.get("/gated", headers=_token(Role.OPS))
        assert ops.status_code == 403
        assert ops.json()["detail"] == "this operation is not available to the ops role"
        key = await client.get("/gated", headers=_token(Role.AGENT, frozenset({"clients:write"})))
        assert key.status_code == 403
        assert key.json()["detail"] == "this API key lacks the 'clients:read' scope"


async def test_a_request_s_token_is_verified_once_for_all_its_gates(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []
    verify = auth.verify_access_token

    def counting(request: Request, token: str) -> Principal:
        verified.append(token)
        return verify(request, token)

    monkeypatch.setattr(auth, "verify_access_token", counting)
    async with _client() as client:
        assert (await client.get("/gated", headers=_token(Role.AGENT))).status_code == 200
        assert (await client.get("/caller", headers=_token(Role.AGENT))).status_code == 200
    assert len(verified) == 2  # one per request: the role gate, the scope gate and PrincipalDep share it
