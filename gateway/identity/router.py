"""Identity endpoints: sign-in, the current user, teams, users and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import PrincipalDep, Role
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.db import SessionDep
from crmkit.idempotency import MINTS_CREDENTIALS
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Forbidden, Problem
from crmkit.revocations import REVOCATIONS_SCOPE
from gateway.identity import api_keys, revocations, service, sessions, sign_in_guard
from gateway.identity.dependencies import AdminDep, SettingsDep, VisibleUserDep
from gateway.identity.errors import InvalidCredentials, RefreshTokenReused
from gateway.identity.revocations import FeedAnswers, RevocationPage
from gateway.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    RefreshRequest,
    TeamCreate,
    TeamRead,
    TokenPair,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
PROBLEM_RESPONSES_429 = {
    "model": Problem,
    "content": {PROBLEM_JSON: {}},
    "description": "Too many failed sign-ins: wait the seconds in Retry-After",
}


@router.post("/auth/token", tags=["auth"], responses={429: PROBLEM_RESPONSES_429}, **MINTS_CREDENTIALS)
async def sign_in(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, request: Request
) -> TokenPair:
    """Sign in with email and password: a 15-minute access token, a refresh token and a device token.

    Failed attempts slow down further ones (429 with Retry-After): per address after 10
    failures, per account after 5 (at most a minute's wait), whether or not the account exists.
    Send back the `device_token` of an earlier sign-in on this device to sign in past them.
    """
    attempt = sign_in_guard.attempt_of(
        settings,
        email=body.email,
        address=sign_in_guard.source_address(request),
        device_token=body.device_token,
    )
    await sign_in_guard.check_allowed(session=session, attempt=attempt)
    try:
        user = await sessions.authenticate(
            session=session, settings=settings, email=body.email, password=body.password
        )
    except InvalidCredentials:
        await sign_in_guard.record_failure(session=session, attempt=attempt)
        await session.commit()  # the failure must survive the 401
        raise
    await sign_in_guard.record_success(session=session, attempt=attempt)
    tokens = await sessions.issue_tokens(session=session, settings=settings, user=user)
    return tokens.model_copy(update={"device_token": sign_in_guard.new_device_token(settings, attempt)})


@router.post("/auth/refresh", tags=["auth"], **MINTS_CREDENTIALS)
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Trade a refresh token for a new pair; reusing an old one ends the whole session."""
    try:
        return await sessions.rotate_refresh_token(
            session=session, settings=settings, refresh_token=body.refresh_token
        )
    except RefreshTokenReused:
        await session.commit()  # the family's revocation must survive the 401
        raise


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
async def log_out(body: RefreshRequest, session: SessionDep) -> None:
    """End the session the refresh token belongs to."""
    await sessions.log_out(session=session, refresh_token=body.refresh_token)


@router.get("/auth/revocations", tags=["auth"], response_model=RevocationPage)
async def list_revocations(
    request: Request,
    principal: PrincipalDep,
    since: Annotated[
        float, Query(ge=0, le=4_102_444_800, description="Unix seconds: revocations after this time.")
    ] = 0,
) -> Response:
    """Revoked users, sessions and API keys of the last 16 minutes, oldest first, at most 1,000:
    what every app pulls each second so that revoked tokens stop working everywhere. For the apps'
    own `revocations:read` tokens, and admins."""
    if principal.scopes is None and principal.role is not Role.ADMIN:
        raise Forbidden("revocations are read by the apps themselves and by administrators")
    if not principal.allows(REVOCATIONS_SCOPE):
        raise Forbidden(f"this token lacks the '{REVOCATIONS_SCOPE}' scope")
    sessions: async_sessionmaker[AsyncSession] = request.app.state.read_sessions

    async def page() -> bytes:
        async with sessions() as session:
            items = await revocations.list_since(session=session, since=since)
        return RevocationPage(items=items).model_dump_json().encode()

    answers: FeedAnswers = request.app.state.revocation_feed
    return Response(await answers.answer(since, page), media_type="application/json")


@router.get("/me", tags=["auth"])
async def me(principal: PrincipalDep, session: SessionDep) -> UserRead:
    """The signed-in user."""
    user = await service.get_visible_user(session=session, principal=principal, user_id=principal.user_id)
    return UserRead.model_validate(user)


@router.post("/teams", status_code=status.HTTP_201_CREATED, tags=["teams"])
async def create_team(body: TeamCreate, admin: AdminDep, session: SessionDep, response: Response) -> TeamRead:
    """Create a team (admins)."""
    team = await service.create_team(session=session, name=body.name, actor=admin)
    response.headers["Location"] = f"/api/v1/teams/{team.id}"
    return TeamRead.model_validate(team)


@router.get("/teams/{team_id:uuid}", tags=["teams"])
async def get_team(team_id: uuid.UUID, _: AdminDep, session: SessionDep) -> TeamRead:
    """One team (admins)."""
    return TeamRead.model_validate(await service.get_team(session=session, team_id=team_id))


@router.get("/teams", tags=["teams"])
async def list_teams(
    _: AdminDep, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[TeamRead]:
    """Teams by name (admins)."""
    teams, next_cursor = await service.list_teams(session=session, limit=limit, cursor=cursor)
    return Page(items=[TeamRead.model_validate(t) for t in teams], next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"])
async def create_user(
    body: UserCreate, admin: AdminDep, session: SessionDep, settings: SettingsDep, response: Response
) -> UserRead:
    """Create a user (admins); agents and team leads need a team."""
    user = await service.create_user(
        session=session,
        settings=settings,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        role=body.role,
        team_id=body.team_id,
        location=body.location,
        actor=admin,
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.get("/users", tags=["users"])
async def list_users(
    _: AdminDep,
    session: SessionDep,
    email: Annotated[str | None, Query(max_length=254)] = None,
    role: Role | None = None,
    team_id: uuid.UUID | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[UserRead]:
    """Users in creation order, filtered by email, role or team (admins)."""
    users, next_cursor = await service.list_users(
        session=session, email=email, role=role, team_id=team_id, limit=limit, cursor=cursor
    )
    return Page(items=[UserRead.model_validate(u) for u in users], next_cursor=next_cursor)


@router.get("/users/{user_id:uuid}", tags=["users"])
async def read_user(user: VisibleUserDep, response: Response) -> UserRead:
    """A user the caller may see: admins everyone, team leads their team, others themselves."""
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.patch("/users/{user_id:uuid}", tags=["users"])
async def update_user(
    body: UserUpdate,
    admin: AdminDep,
    user: VisibleUserDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> UserRead:
    """Change a user's name, role, team or active flag (admins; If-Match required)."""
    check_if_match(if_match, user.version)
    user = await service.update_user(session=session, user=user, changes=body, actor=admin)
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, tags=["api keys"], **MINTS_CREDENTIALS)
async def create_api_key(
    body: ApiKeyCreate, admin: AdminDep, session: SessionDep, response: Response
) -> ApiKeyCreated:
    """Issue an API key for an integrator; the key is shown in this response only."""
    api_key, key = await api_keys.create_api_key(
        session=session, name=body.name, user_id=body.user_id, scopes=body.scopes, actor=admin
    )
    response.headers["Location"] = f"/api/v1/api-keys/{api_key.id}"
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=key)


@router.get("/api-keys", tags=["api keys"])
async def list_api_keys(
    _: AdminDep, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[ApiKeyRead]:
    """API keys, without the keys themselves (admins)."""
    keys, next_cursor = await api_keys.list_api_keys(session=session, limit=limit, cursor=cursor)
    return Page(items=[ApiKeyRead.model_validate(k) for k in keys], next_cursor=next_cursor)


@router.get("/api-keys/{api_key_id:uuid}", tags=["api keys"])
async def get_api_key(api_key_id: uuid.UUID, _: AdminDep, session: SessionDep) -> ApiKeyRead:
    """One API key, without the key itself (admins)."""
    return ApiKeyRead.model_validate(await api_keys.get_api_key(session=session, api_key_id=api_key_id))


@router.delete("/api-keys/{api_key_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, tags=["api keys"])
async def revoke_api_key(
    api_key_id: uuid.UUID, admin: AdminDep, session: SessionDep, request: Request
) -> None:
    """Revoke an API key; it stops working at once."""
    await api_keys.revoke_api_key(session=session, api_key_id=api_key_id, actor=admin)
    request.app.state.api_key_resolver.forget(api_key_id)
