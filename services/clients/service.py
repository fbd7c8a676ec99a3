"""Business rules of the client record: flush, never commit; raise domain errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import ric

from crmkit import audit
from crmkit.auth import Principal, Role
from crmkit.crypto import FieldCipher, mask_middle
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import FieldError, Unprocessable
from services.clients import repository
from services.clients.errors import InvalidClientField
from services.clients.identity import UserDirectory
from services.clients.models import Client, infra_tables
from services.clients.repository import ClientFilters
from services.clients.schemas import Channel, ClientCreate, ClientPage, ClientRead, ClientUpdate

RESOURCE = "client"
RESIDENT_ID_CONTEXT = "clients.resident_id"
PHONE_CONTEXT = "clients.phone"
OWNER_ROLES = (Role.AGENT, Role.TEAM_LEAD)
REASSIGNING_ROLES = (Role.ADMIN, Role.TEAM_LEAD)


@dataclass(frozen=True, slots=True)
class Tools:
    """What the rules need beyond the session: the field cipher and the business time zone."""

    cipher: FieldCipher
    zone: ZoneInfo

    def today(self) -> date:
        return datetime.now(self.zone).date()


def mask_resident_id(resident_id: str) -> str:
    return mask_middle(resident_id, keep_start=3, keep_end=4)


def mask_phone(e164: str) -> str:
    """``+8613812345678`` → ``+86 138****5678``."""
    parsed = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(parsed)
    return f"+{parsed.country_code} {mask_middle(national, keep_start=3, keep_end=4)}"


def to_read(client: Client) -> ClientRead:
    """The public (masked) view; also what the audit trail records."""
    return ClientRead(
        id=client.id,
        name=client.name,
        gender=client.gender,
        birth_date=client.birth_date,
        resident_id=client.resident_id_masked,
        phone=client.phone_masked,
        occupation=client.occupation,
        occupation_class=client.occupation_class,
        channel=client.channel,
        referred_by_client_id=client.referred_by_client_id,
        notes=client.notes,
        tier=client.tier,
        owner_agent_id=client.owner_agent_id,
        team_id=client.team_id,
        version=client.version,
        created_at=client.created_at,
        updated_at=client.updated_at,
    )


def _audit_view(client: Client) -> dict[str, Any]:
    return to_read(client).model_dump(mode="json")


def phone_lookup_hash(cipher: FieldCipher, e164: str) -> bytes:
    return cipher.lookup_hash(e164, context=PHONE_CONTEXT)


def _seal_resident_id(client: Client, cipher: FieldCipher, value: str | None) -> None:
    client.resident_id_cipher = cipher.encrypt(value, context=RESIDENT_ID_CONTEXT) if value else None
    client.resident_id_hmac = cipher.lookup_hash(value, context=RESIDENT_ID_CONTEXT) if value else None
    client.resident_id_masked = mask_resident_id(value) if value else None


def _seal_phone(client: Client, cipher: FieldCipher, value: str | None) -> None:
    client.phone_cipher = cipher.encrypt(value, context=PHONE_CONTEXT) if value else None
    client.phone_hmac = phone_lookup_hash(cipher, value) if value else None
    client.phone_masked = mask_phone(value) if value else None


def _reconcile_birth_date(
    *, resident_id: str | None, birth_date: date | None, birth_date_given: bool, today: date
) -> date | None:
    """The resident ID carries the birth date: it fills a missing one and must agree with a given one."""
    if resident_id is not None:
        from_id = ric.get_birth_date(resident_id)
        if from_id > today:
            raise InvalidClientField(
                "resident_id", "the birth date in the resident ID number is in the future"
            )
        if birth_date_given and birth_date is not None and birth_date != from_id:
            raise InvalidClientField("birth_date", "does not match the birth date in the resident ID number")
        return from_id
    if birth_date is not None and birth_date > today:
        raise InvalidClientField("birth_date", "cannot be in the future")
    return birth_date


async def _check_referral(
    *,
    session: AsyncSession,
    principal: Principal,
    channel: str,
    referrer_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    verify_referrer: bool,
) -> None:
    field = "referred_by_client_id"
    if channel == Channel.REFERRAL and referrer_id is None:
        raise InvalidClientField(field, "required when channel is referral")
    if channel != Channel.REFERRAL and referrer_id is not None:
        raise InvalidClientField(field, "only allowed when channel is referral")
    if referrer_id is None or not verify_referrer:
        return
    if referrer_id == client_id:
        raise InvalidClientField(field, "a client cannot refer themselves")
    if not await repository.exists_visible(session=session, principal=principal, client_id=referrer_id):
        raise InvalidClientField(field, "no such client in your scope")


async def create_client(
    *, session: AsyncSession, tools: Tools, principal: Principal, data: ClientCreate
) -> Client:
    """A new client owned by the caller, in the caller's team."""
    birth_date = _reconcile_birth_date(
        resident_id=data.resident_id,
        birth_date=data.birth_date,
        birth_date_given="birth_date" in data.model_fields_set,
        today=tools.today(),
    )
    await _check_referral(
        session=session,
        principal=principal,
        channel=data.channel,
        referrer_id=data.referred_by_client_id,
        client_id=None,
        verify_referrer=True,
    )
    now = datetime.now(UTC)
    client = Client(
        owner_agent_id=principal.user_id,
        team_id=principal.team_id,
        name=data.name,
        gender=data.gender.value,
        birth_date=birth_date,
        occupation=data.occupation,
        occupation_class=data.occupation_class,
        channel=data.channel.value,
        referred_by_client_id=data.referred_by_client_id,
        notes=data.notes,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _seal_resident_id(client, tools.cipher, data.resident_id)
    _seal_phone(client, tools.cipher, data.phone)
    session.add(client)
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="client.created",
        resource_type=RESOURCE,
        resource_id=client.id,
        after=_audit_view(client),
    )
    return client


async def _new_owner(
    *, principal: Principal, directory: UserDirectory, target_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The target agent and its team, as the gateway's directory shows them to the caller."""
    user = await directory.find_user(target_id)
    in_scope = (
        user is not None
        and user.id == target_id
        and user.active
        and user.role in OWNER_ROLES
        and (principal.role is Role.ADMIN or user.team_id == principal.team_id)
    )
    if user is None or not in_scope:
        raise InvalidClientField("owner_agent_id", "no such agent in your scope")
    return user.id, user.team_id


async def update_client(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    directory: UserDirectory,
    client: Client,
    patch: ClientUpdate,
) -> Client:
    """Apply a partial change; a change that alters nothing bumps no version and writes no audit."""
    given = patch.model_fields_set
    if not given:
        return client

    if "owner_agent_id" in given and principal.role not in REASSIGNING_ROLES:
        raise InvalidClientField("owner_agent_id", "only an admin or team lead may reassign a client")

    birth_date = client.birth_date
    if "resident_id" in given or "birth_date" in given:
        resident_id = patch.resident_id if "resident_id" in given else _current_resident_id(client, tools)
        birth_date = _reconcile_birth_date(
            resident_id=resident_id,
            birth_date=patch.birth_date if "birth_date" in given else client.birth_date,
            birth_date_given="birth_date" in given,
            today=tools.today(),
        )

    channel = patch.channel.value if patch.channel is not None else client.channel
    referrer = (
        patch.referred_by_client_id if "referred_by_client_id" in given else client.referred_by_client_id
    )
    await _check_referral(
        session=session,
        principal=principal,
        channel=channel,
        referrer_id=referrer,
        client_id=client.id,
        verify_referrer="referred_by_client_id" in given and referrer != client.referred_by_client_id,
    )

    new_owner: tuple[uuid.UUID, uuid.UUID | None] | None = None
    if patch.owner_agent_id is not None and patch.owner_agent_id != client.owner_agent_id:
        new_owner = await _new_owner(principal=principal, directory=directory, target_id=patch.owner_agent_id)

    before = _audit_view(client)
    personal_before = (client.resident_id_hmac, client.phone_hmac)
    for field in ("name", "occupation", "occupation_class", "notes"):
        if field in given:
            setattr(client, field, getattr(patch, field))
    if patch.gender is not None:
        client.gender = patch.gender.value
    client.channel = channel
    client.referred_by_client_id = referrer
    client.birth_date = birth_date
    if "resident_id" in given:
        _seal_resident_id(client, tools.cipher, patch.resident_id)
    if "phone" in given:
        _seal_phone(client, tools.cipher, patch.phone)
    if new_owner is not None:
        client.owner_agent_id, client.team_id = new_owner

    old, new = _diff(before, _audit_view(client))
    # Two resident IDs (or phones) can share a mask; the trail must still show that one changed.
    for field, was, now in (
        ("resident_id", personal_before[0], client.resident_id_hmac),
        ("phone", personal_before[1], client.phone_hmac),
    ):
        if was != now and field not in new:
            old[field], new[field] = before[field], _audit_view(client)[field]
    if not new:
        return client

    client.version += 1
    client.updated_at = datetime.now(UTC)
    old["version"], new["version"] = before["version"], client.version
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="client.reassigned" if new_owner is not None else "client.updated",
        resource_type=RESOURCE,
        resource_id=client.id,
        before=old,
        after=new,
    )
    return client


def _current_resident_id(client: Client, tools: Tools) -> str | None:
    if client.resident_id_cipher is None:
        return None
    return tools.cipher.decrypt(client.resident_id_cipher, context=RESIDENT_ID_CONTEXT)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    old, new = audit.changed_fields(before, after)
    for bookkeeping in ("version", "updated_at"):
        old.pop(bookkeeping, None)
        new.pop(bookkeeping, None)
    return old, new


async def delete_client(*, session: AsyncSession, principal: Principal, client: Client) -> None:
    """Soft delete: the row stays for the audit trail but disappears from every read."""
    before = _audit_view(client)
    now = datetime.now(UTC)
    client.deleted_at = now
    client.updated_at = now
    client.version += 1
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="client.deleted",
        resource_type=RESOURCE,
        resource_id=client.id,
        before=before,
    )


def _read_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    values = decode_cursor(cursor, arity=2)
    if values is None:
        return None
    try:
        created_at = datetime.fromisoformat(str(values[0]))
        client_id = uuid.UUID(str(values[1]))
    except ValueError:
        created_at, client_id = None, None
    if created_at is None or client_id is None or created_at.tzinfo is None:
        raise Unprocessable(
            "cursor is not one this API issued", errors=[FieldError(field="cursor", message="invalid cursor")]
        )
    return created_at, client_id


async def list_clients(
    *, session: AsyncSession, principal: Principal, filters: ClientFilters, limit: int, cursor: str | None
) -> ClientPage:
    """One page of the clients the caller can see, newest first."""
    rows = await repository.list_visible(
        session=session, principal=principal, filters=filters, after=_read_cursor(cursor), limit=limit
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    return ClientPage(items=[to_read(row) for row in rows], next_cursor=next_cursor)
