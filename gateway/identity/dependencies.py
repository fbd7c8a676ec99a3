"""Dependency aliases of the identity API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from crmkit.auth import Principal, PrincipalDep, Role, require_roles
from crmkit.db import SessionDep
from gateway.config import Settings
from gateway.identity.models import User
from gateway.identity.service import get_visible_user


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]
AdminDep = Annotated[Principal, require_roles(Role.ADMIN)]


async def visible_user(user_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> User:
    """The user named in the path, if the caller may see them (404 otherwise)."""
    return await get_visible_user(session=session, principal=principal, user_id=user_id)


VisibleUserDep = Annotated[User, Depends(visible_user)]
