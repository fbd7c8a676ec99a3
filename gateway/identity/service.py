"""Teams and users: creation, visibility, listing and changes. Flush, never commit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.audit import changed_fields, record
from crmkit.auth import Principal, Role
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import FieldError, Unprocessable
from gateway.config import Settings
from gateway.identity import revocations
from gateway.identity.errors import EmailTaken, InvalidAssignment, TeamNameTaken, TeamNotFound, UserNotFound
from gateway.identity.models import RefreshToken, Team, User, infra_tables, utcnow
from gateway.identity.schemas import TeamRead, UserRead, UserUpdate
from gateway.identity.tokens import hash_password

ROLES_WITHOUT_TEAM = frozenset({Role.ADMIN, Role.OPS})


def user_snapshot(user: User) -> dict[str, Any]:
    """The audited form of a user: never the password hash."""
    return UserRead.model_validate(user).model_dump(mode="json")


async def create_team(*, session: AsyncSession, name: str, actor: Principal | None = None) -> Team:
    """Create a team; a taken name is a 409."""
    name = name.strip()
    if await session.scalar(select(exists().where(col(Team.name) == name))):
        raise TeamNameTaken(f"a team named {name!r} already exists")
    team = Team(name=name)
    session.add(team)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise TeamNameTaken(f"a team named {name!r} already exists") from exc
    if actor is not None:
        await record(
            session,
            infra_tables.audit_log,
            principal=actor,
            action="team.created",
            resource_type="team",
            resource_id=team.id,
            after=TeamRead.model_validate(team).model_dump(mode="json"),
        )
    return team


async def get_team(*, session: AsyncSession, team_id: uuid.UUID) -> Team:
    """One team; 404 when there is none."""
    team = await session.get(Team, team_id)
    if team is None:
        raise TeamNotFound("no such team")
    return team


async def list_teams(
    *, session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[Team], str | None]:
    """Teams by name, one page at a time."""
    after = decode_cursor(cursor, arity=1)
    query = select(Team).order_by(col(Team.name)).limit(limit + 1)
    if after is not None:
        query = query.where(col(Team.name) > str(after[0]))
    teams = list((await session.scalars(query)).all())
    more = len(teams) > limit
    teams = teams[:limit]
    return teams, encode_cursor([teams[-1].name]) if more else None


async def _check_assignment(*, session: AsyncSession, role: Role, team_id: uuid.UUID | None) -> None:
    if team_id is None and role not in ROLES_WITHOUT_TEAM:
        raise InvalidAssignment(
            f"a {role.value} must belong to a team",
            errors=[FieldError(field="team_id", message=f"required for the {role.value} role")],
        )
    if team_id is not None and not await session.scalar(select(exists().where(col(Team.id) == team_id))):
        raise InvalidAssignment(
            "no such team", errors=[FieldError(field="team_id", message="no team with this id")]
        )


async def create_user(
    *,
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    team_id: uuid.UUID | None,
    location: str | None = None,
    actor: Principal | None = None,
) -> User:
    """Create a user with an Argon2 password hash; a taken email is a 409."""
    email = email.strip().lower()
    role = Role(role)
    await _check_assignment(session=session, role=role, team_id=team_id)
    if await session.scalar(select(exists().where(col(User.email) == email))):
        raise EmailTaken("a user with this email already exists")
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role.value,
        team_id=team_id,
        location=location,
        password_hash=await hash_password(settings, password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise EmailTaken("a user with this email already exists") from exc
    if actor is not None:
        await record(
            session,
            infra_tables.audit_log,
            principal=actor,
            action="user.created",
            resource_type="user",
            resource_id=user.id,
            after=user_snapshot(user),
        )
    return user


async def get_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    """The user with this email (case-insensitive), if any."""
    return await session.scalar(select(User).where(col(User.email) == email.strip().lower()))


def can_see(principal: Principal, user: User) -> bool:
    """Admins and operations staff (who hand office equipment to anyone) see everyone, team leads
    their team, everyone else only themselves."""
    if principal.role in (Role.ADMIN, Role.OPS) or principal.user_id == user.id:
        return True
    return principal.role is Role.TEAM_LEAD and user.team_id is not None and user.team_id == principal.team_id


async def get_visible_user(*, session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    """The user, if the caller may see them; otherwise 404 (IDs cannot be probed)."""
    user = await session.get(User, user_id)
    if user is None or not can_see(principal, user):
        raise UserNotFound("no such user")
    return user


async def list_users(
    *,
    session: AsyncSession,
    email: str | None,
    role: Role | None,
    team_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[User], str | None]:
    """Users in creation order, filtered, one page at a time."""
    after = decode_cursor(cursor, arity=2)
    query = select(User).order_by(col(User.created_at), col(User.id)).limit(limit + 1)
    if email is not None:
        query = query.where(col(User.email) == email.strip().lower())
    if role is not None:
        query = query.where(col(User.role) == role.value)
    if team_id is not None:
        query = query.where(col(User.team_id) == team_id)
    if after is not None:
        try:
            created, last_id = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        except ValueError as exc:
            raise Unprocessable(
                "cursor is not one this API issued",
                errors=[FieldError(field="cursor", message="invalid cursor")],
            ) from exc
        query = query.where(
            (col(User.created_at) > created) | ((col(User.created_at) == created) & (col(User.id) > last_id))
        )
    users = list((await session.scalars(query)).all())
    more = len(users) > limit
    users = users[:limit]
    next_cursor = encode_cursor([users[-1].created_at.isoformat(), str(users[-1].id)]) if more else None
    return users, next_cursor


ACCESS_FIELDS = ("role", "team_id", "is_active", "location")


def _changes_access(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before.get(name) != after.get(name) for name in ACCESS_FIELDS)


async def update_user(*, session: AsyncSession, user: User, changes: UserUpdate, actor: Principal) -> User:
    """Change name, role, team or active flag; deactivation also ends the user's sessions."""
    before = user_snapshot(user)
    fields = changes.model_dump(exclude_unset=True)
    if fields.get("full_name") is None:
        fields.pop("full_name", None)
    if fields.get("role") is None:
        fields.pop("role", None)
    if fields.get("is_active") is None:
        fields.pop("is_active", None)
    role = Role(fields.get("role", user.role))
    team_id = fields.get("team_id", user.team_id)
    await _check_assignment(session=session, role=role, team_id=team_id)
    for name, value in fields.items():
        setattr(user, name, value.value if isinstance(value, Role) else value)
    after = user_snapshot(user)
    if after == before:
        return user
    user.version += 1
    user.updated_at = utcnow()
    if _changes_access(before, after):
        # Tokens carry the role, team and location: older ones stop working everywhere within seconds.
        await revocations.revoke(session=session, kind="user", subject=user.id)
    if fields.get("is_active") is False:
        await session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
    await session.flush()
    old, new = changed_fields(before, user_snapshot(user))
    await record(
        session,
        infra_tables.audit_log,
        principal=actor,
        action="user.updated",
        resource_type="user",
        resource_id=user.id,
        before=old,
        after=new,
    )
    return user
