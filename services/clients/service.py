"""Business rules of the client record: flush, never commit; raise domain errors."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crmkit.auth import Principal, Role
from crmkit.pagination import encode_cursor, invalid_cursor, read_cursor, trim
from services.clients import owners, pages, repository
from services.clients.consent import service as consent
from services.clients.consent.schemas import ConsentPurpose
from services.clients.consent.service import consent_view
from services.clients.errors import InvalidClientField
from services.clients.identifiers import (
    Identifier,
    lookup_hash,
    masked_resident_id,
    seal_identity_document,
    seal_phone,
    unseal,
)
from services.clients.identity_documents import (
    DocumentChange,
    DocumentRejected,
    IdentityDocumentType,
    requested_document,
    stored_birth_date,
)
from services.clients.models import Client, ClientRecord
from services.clients.peers import UserDirectory
from services.clients.repository import ClientFilters, SortKey
from services.clients.schemas import (
    Channel,
    ClientCreate,
    ClientPage,
    ClientRead,
    ClientSort,
    ClientUpdate,
)
from services.clients.tools import Tools
from services.clients.trail import diff, record_change

__all__ = ["Tools", "create_client", "delete_client", "list_clients", "to_read", "update_client"]

RESOURCE = "client"
OWNER_ROLES = (Role.AGENT, Role.TEAM_LEAD)
REASSIGNING_ROLES = (Role.ADMIN, Role.TEAM_LEAD)
NO_CONSENT = (
    "no active consent to process personal data: record the client's consent "
    "(purpose personal_data) before storing identifiers"
)


class _Attributes:
    """A model's attributes by name, as a row's ``_mapping`` gives its columns."""

    __slots__ = ("_model",)

    def __init__(self, model: Client) -> None:
        self._model = model

    def __getitem__(self, name: str) -> Any:
        return getattr(self._model, name)


def to_read(client: ClientRecord | dict[str, Any]) -> ClientRead:
    """The public (masked) view; also what the audit trail records. A ``dict``: the columns of a
    client not built as a model (a new one)."""
    # A row's columns by key: a row's attribute lookup is a failed normal lookup before its
    # ``__getattr__``, and twice as slow (a page of 50 is 21 x 50 of them).
    c: Any = (
        client
        if isinstance(client, dict)
        else client._mapping
        if isinstance(client, Row)
        else _Attributes(client)
    )
    number, document = c["resident_id_masked"], c["id_document_type"]
    return ClientRead(
        id=c["id"],
        name=c["name"],
        gender=c["gender"],
        birth_date=c["birth_date"],
        id_document_type=document,
        id_document_number=number,
        id_document_country=c["id_document_country"],
        resident_id=masked_resident_id(document, number),
        phone=c["phone_masked"],
        occupation=c["occupation"],
        occupation_class=c["occupation_class"],
        channel=c["channel"],
        referred_by_client_id=c["referred_by_client_id"],
        notes=c["notes"],
        tier=c["tier"],
        next_follow_up_on=c["next_follow_up_on"],
        owner_agent_id=c["owner_agent_id"],
        team_id=c["team_id"],
        version=c["version"],
        created_at=c["created_at"],
        updated_at=c["updated_at"],
    )


def _audit_view(client: Client) -> dict[str, Any]:
    return to_read(client).model_dump(mode="json")


def _reconcile_birth_date(
    *,
    from_document: date | None,
    document_field: str,
    birth_date: date | None,
    birth_date_given: bool,
    today: date,
) -> date | None:
    """A document number that carries the birth date (every type but a passport) fills a missing one
    and must agree with a given one; a birth date is never in the future."""
    if from_document is not None:
        if from_document > today:
            raise InvalidClientField(
                document_field, f"the birth date in the number ({from_document}) is in the future"
            )
        if birth_date_given and birth_date is not None and birth_date != from_document:
            raise InvalidClientField(
                "birth_date", f"does not match the birth date in the identity document ({from_document})"
            )
        return from_document
    if birth_date is not None and birth_date > today:
        raise InvalidClientField("birth_date", "cannot be in the future")
    return birth_date


def _document_change(data: ClientCreate | ClientUpdate) -> DocumentChange | None:
    """The document the body sets, checked by its type's rule (422 naming the field and the reason)."""
    try:
        return requested_document(
            kind=data.id_document_type,
            number=data.id_document_number,
            country=data.id_document_country,
            resident_id=data.resident_id,
            given=set(data.model_fields_set),
        )
    except DocumentRejected as exc:
        raise InvalidClientField(exc.field, exc.message) from None


def search_document_hash(
    tools: Tools,
    *,
    kind: IdentityDocumentType | None,
    number: str | None,
    country: str | None,
    resident_id: str | None,
) -> bytes | None:
    """The keyed hash a document search looks for (the number checked by its type's rule first)."""
    sent = {"id_document_type": kind, "id_document_number": number, "id_document_country": country}
    given = {name for name, value in {**sent, "resident_id": resident_id}.items() if value is not None}
    try:
        change = requested_document(
            kind=kind, number=number, country=country, resident_id=resident_id, given=given
        )
    except DocumentRejected as exc:
        raise InvalidClientField(exc.field, exc.message) from None
    if change is None or change.document is None:
        return None
    return lookup_hash(tools.cipher, "resident_id", change.document.lookup_key)


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
) -> ClientRead:
    """A new client owned by the caller, in the caller's team; identifiers only with consent.
    Its public view is returned (what the audit row records)."""
    if (data.resident_id or data.id_document_number or data.phone) and (
        data.consent is None or data.consent.purpose != ConsentPurpose.PERSONAL_DATA
    ):
        raise InvalidClientField("consent", NO_CONSENT)
    change = _document_change(data)
    document = change.document if change is not None else None
    birth_date = _reconcile_birth_date(
        from_document=document.birth_date if document is not None else None,
        document_field=change.field if change is not None else "id_document_number",
        birth_date=data.birth_date,
        birth_date_given="birth_date" in data.model_fields_set,
        today=tools.clock.today(),
    )
    await _check_referral(
        session=session,
        principal=principal,
        channel=data.channel,
        referrer_id=data.referred_by_client_id,
        client_id=None,
        verify_referrer=True,
    )
    now = tools.clock.now()
    columns: dict[str, Any] = {
        "id": uuid.uuid4(),
        "owner_agent_id": principal.user_id,
        "team_id": principal.team_id,
        "name": data.name,
        "gender": data.gender.value,
        "birth_date": birth_date,
        "occupation": data.occupation,
        "occupation_class": data.occupation_class,
        "channel": data.channel.value,
        "referred_by_client_id": data.referred_by_client_id,
        "notes": data.notes,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    if data.consent is None:
        # No consent, so no identifier (checked above): the client and its audit row are written
        # in one statement, without building a model (a tenth of a create's CPU).
        created = to_read({**_NO_IDENTIFIERS, **columns})
        along = repository.new_client(columns)
        after = created.model_dump(mode="json")
    else:
        client = Client(**columns)
        seal_identity_document(client, tools.cipher, document)
        seal_phone(client, tools.cipher, data.phone)
        session.add(client)
        await session.flush()
        created = to_read(client)
        along = None
        given = consent.new_consent(
            client_id=client.id, principal=principal, data=data.consent, field="consent"
        )
        session.add(given)
        await session.flush()
        after = {**created.model_dump(mode="json"), "consent": consent_view(given)}
    await record_change(
        session,
        principal,
        action="client.created",
        resource_type=RESOURCE,
        resource_id=created.id,
        after=after,
        along=along,
    )
    return created


_NO_IDENTIFIERS: dict[str, Any] = {
    "resident_id_masked": None,
    "id_document_type": None,
    "id_document_country": None,
    "phone_masked": None,
    "tier": None,
    "next_follow_up_on": None,
}
"""The columns a new client without consent shows as null (``to_read`` reads them)."""


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


async def _check_may_change(
    *, session: AsyncSession, principal: Principal, client: Client, patch: ClientUpdate
) -> None:
    """Who may reassign, and identifiers only with the client's active consent."""
    if "owner_agent_id" in patch.model_fields_set and principal.role not in REASSIGNING_ROLES:
        raise InvalidClientField("owner_agent_id", "only an admin or team lead may reassign a client")
    for identifier in ("resident_id", "id_document_number", "phone"):
        if getattr(patch, identifier) and not await consent.has_active_consent(
            session=session, client_id=client.id
        ):
            raise InvalidClientField(identifier, NO_CONSENT)


def _birth_date_after(
    *, tools: Tools, client: Client, patch: ClientUpdate, change: DocumentChange | None
) -> date | None:
    """The birth date once the patch applies, reconciled with the identity document (kept or new)."""
    given = patch.model_fields_set
    if change is None and "birth_date" not in given:
        return client.birth_date
    if change is not None:
        from_document = change.document.birth_date if change.document is not None else None
        field = change.field
    else:
        from_document = stored_birth_date(client.id_document_type, _current_document_number(client, tools))
        field = "id_document_number"
    return _reconcile_birth_date(
        from_document=from_document,
        document_field=field,
        birth_date=patch.birth_date if "birth_date" in given else client.birth_date,
        birth_date_given="birth_date" in given,
        today=tools.clock.today(),
    )


async def _referral_after(
    *, session: AsyncSession, principal: Principal, client: Client, patch: ClientUpdate
) -> tuple[str, uuid.UUID | None]:
    """The channel and referrer once the patch applies; a newly named referrer must be in scope."""
    given = patch.model_fields_set
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
    return channel, referrer


def _apply(*, tools: Tools, client: Client, patch: ClientUpdate, change: DocumentChange | None) -> None:
    """The plain fields and the identifiers the patch names (identifiers sealed again)."""
    given = patch.model_fields_set
    for field in ("name", "occupation", "occupation_class", "notes"):
        if field in given:
            setattr(client, field, getattr(patch, field))
    if patch.gender is not None:
        client.gender = patch.gender.value
    if change is not None:
        seal_identity_document(client, tools.cipher, change.document)
    if "phone" in given:
        seal_phone(client, tools.cipher, patch.phone)


def _changes(
    before: dict[str, Any], personal_before: tuple[bytes | None, bytes | None], client: Client
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What changed, for the trail; an identifier that changed under the same mask still shows."""
    after = _audit_view(client)
    old, new = diff(before, after)
    for field, was, now in (
        ("id_document_number", personal_before[0], client.resident_id_hmac),
        ("phone", personal_before[1], client.phone_hmac),
    ):
        if was != now and field not in new:
            old[field], new[field] = before[field], after[field]
    return old, new


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
    if not patch.model_fields_set:
        return client
    await _check_may_change(session=session, principal=principal, client=client, patch=patch)
    change = _document_change(patch)
    birth_date = _birth_date_after(tools=tools, client=client, patch=patch, change=change)
    channel, referrer = await _referral_after(
        session=session, principal=principal, client=client, patch=patch
    )
    new_owner: tuple[uuid.UUID, uuid.UUID | None] | None = None
    if patch.owner_agent_id is not None and patch.owner_agent_id != client.owner_agent_id:
        new_owner = await _new_owner(principal=principal, directory=directory, target_id=patch.owner_agent_id)

    before = _audit_view(client)
    personal_before = (client.resident_id_hmac, client.phone_hmac)
    _apply(tools=tools, client=client, patch=patch, change=change)
    client.channel = channel
    client.referred_by_client_id = referrer
    client.birth_date = birth_date
    if new_owner is not None:
        client.owner_agent_id, client.team_id = new_owner
    old, new = _changes(before, personal_before, client)
    if not new:
        return client

    client.version += 1
    client.updated_at = tools.clock.now()
    old["version"], new["version"] = before["version"], client.version
    await session.flush()
    if new_owner is not None:
        await owners.follow(session=session, client=client)
    await record_change(
        session,
        principal,
        action="client.reassigned" if new_owner is not None else "client.updated",
        resource_type=RESOURCE,
        resource_id=client.id,
        before=old,
        after=new,
    )
    return client


def _current_document_number(client: Client, tools: Tools) -> str | None:
    return unseal(client, tools.cipher, "resident_id")


async def delete_client(*, session: AsyncSession, principal: Principal, client: Client) -> None:
    """Soft delete: the row stays for the audit trail but disappears from every read."""
    before = _audit_view(client)
    now = datetime.now(UTC)
    client.deleted_at = now
    client.updated_at = now
    client.version += 1
    await session.flush()
    await record_change(
        session,
        principal,
        action="client.deleted",
        resource_type=RESOURCE,
        resource_id=client.id,
        before=before,
    )


# What a cursor carries between its sort's name and the (created_at, id) tie-breakers.
SORT_KEY_TYPES: dict[ClientSort, tuple[type[str] | type[date], ...]] = {
    ClientSort.RECENT: (),
    ClientSort.TIER: (str,),
    ClientSort.FOLLOW_UP: (date,),
}


def _read_cursor(cursor: str | None, sort: ClientSort) -> SortKey | None:
    """The cursor carries its sort, so a page of one order never continues another."""
    values = read_cursor(cursor, str, *SORT_KEY_TYPES[sort], datetime, uuid.UUID)
    if values is None:
        return None
    if values[0] != sort.value:
        raise invalid_cursor()
    key = values[1] if sort is not ClientSort.RECENT else None
    return SortKey(key=key, created_at=values[-2], id=values[-1])


def _cursor_key(client: ClientRecord, sort: ClientSort) -> list[Any]:
    key = repository.sort_value(client, sort)
    return [sort.value, *([] if sort is ClientSort.RECENT else [key]), client.created_at, client.id]


def search_hash(tools: Tools, field: Identifier, value: str | None) -> bytes | None:
    """Exact identifier search goes through the keyed hash: nothing is decrypted."""
    return lookup_hash(tools.cipher, field, value) if value else None


async def _page_rows(
    *,
    session: AsyncSession | AsyncConnection,
    principal: Principal,
    filters: ClientFilters,
    limit: int,
    cursor: str | None,
    sort: ClientSort,
) -> tuple[Sequence[Row[Any]], str | None]:
    rows = await repository.list_visible(
        session=session,
        principal=principal,
        filters=filters,
        sort=sort,
        after=_read_cursor(cursor, sort),
        limit=limit,
    )
    return trim(rows, limit, key=lambda row: _cursor_key(row, sort))


async def list_clients(
    *,
    session: AsyncSession | AsyncConnection,
    principal: Principal,
    filters: ClientFilters,
    limit: int,
    cursor: str | None,
    sort: ClientSort = ClientSort.RECENT,
) -> ClientPage:
    """One page of the clients the caller can see: newest first, by tier (A first) or by follow-up."""
    shown, next_cursor = await _page_rows(
        session=session, principal=principal, filters=filters, limit=limit, cursor=cursor, sort=sort
    )
    # Built as the response model itself (its items are already ``ClientRead``s), so FastAPI need
    # not validate a generic ``Page`` into a ``ClientPage`` again.
    return ClientPage.model_construct(items=[to_read(row) for row in shown], next_cursor=next_cursor)


async def list_clients_json(
    *,
    connection: AsyncConnection,
    principal: Principal,
    filters: ClientFilters,
    limit: int,
    cursor: str | None,
    sort: ClientSort = ClientSort.RECENT,
) -> bytes:
    """``list_clients``' page as its JSON, which PostgreSQL writes (``pages``); the next page's
    cursor is made here as ``list_clients`` makes it, from the last shown row's columns."""
    page = await repository.page_json_visible(
        connection=connection,
        principal=principal,
        filters=filters,
        sort=sort,
        after=_read_cursor(cursor, sort),
        limit=limit,
    )
    next_cursor = encode_cursor(_cursor_key(page, sort)) if page.rows > limit else None
    return pages.page_json(page.items, next_cursor)


async def list_follow_ups_due(
    *, session: AsyncSession, principal: Principal, due_by: date, limit: int, cursor: str | None
) -> ClientPage:
    """Clients in the caller's scope whose next follow-up is due on or before ``due_by``, soonest first."""
    return await list_clients(
        session=session,
        principal=principal,
        filters=ClientFilters(follow_up_due_by=due_by),
        sort=ClientSort.FOLLOW_UP,
        limit=limit,
        cursor=cursor,
    )
