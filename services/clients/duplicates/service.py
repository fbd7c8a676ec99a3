"""Listing likely duplicates, and merging one client into another. Flush, never commit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from crmkit.auth import Principal
from crmkit.pagination import encode_cursor, read_cursor, trim
from services.clients import owners, repository
from services.clients.duplicates import repository as pairs
from services.clients.duplicates.schemas import DuplicatePage, DuplicatePair, DuplicateReason
from services.clients.errors import ClientBusy, ClientNotFound, InvalidClientField
from services.clients.interactions.service import refresh_follow_up
from services.clients.models import (
    Client,
    Complaint,
    Consent,
    FamilyMember,
    Household,
    HouseholdIncome,
    Interaction,
    Milestone,
    NeedsAssessment,
    TierAssessment,
    TierChange,
)
from services.clients.service import to_read
from services.clients.tools import Tools
from services.clients.trail import diff, record_change

# Records that simply follow their client to the survivor.
MOVED_WITH_CLIENT: tuple[type[SQLModel], ...] = (
    Interaction,
    Milestone,
    Complaint,
    Consent,
    TierChange,
    HouseholdIncome,
)
# One row per client: the duplicate's moves only where the survivor has none.
ONE_PER_CLIENT: tuple[type[SQLModel], ...] = (Household, TierAssessment, NeedsAssessment)
# Fields of the survivor filled from the duplicate when empty (identifiers are handled apart).
FILLABLE = ("birth_date", "occupation", "occupation_class", "notes", "tier")


async def list_duplicates(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> DuplicatePage:
    """Likely duplicate pairs among the caller's live clients, by id, one page at a time (a page may be
    short, even empty, with a ``next_cursor``: each page scans a bounded window of clients)."""
    after = read_cursor(cursor, uuid.UUID, uuid.UUID)
    rows, stopped_at = await pairs.duplicate_pairs(
        session=session,
        principal=principal,
        after=(after[0], after[1]) if after is not None else None,
        limit=limit + 1,
    )
    found, next_cursor = trim(rows, limit, key=lambda pair: pair[:2])
    if next_cursor is None and stopped_at is not None:  # a short page: the scan goes on from there
        next_cursor = encode_cursor(stopped_at)
    ids = {i for first, second, _ in found for i in (first, second)}
    clients: dict[uuid.UUID, Client] = {}
    if ids:
        # The caller's scope again: keyed by owner, as a distributed table wants (docs/scaling.md).
        loaded = await session.execute(
            select(Client).where(col(Client.id).in_(ids), repository.visible_to(principal))
        )
        clients = {c.id: c for c in loaded.scalars()}
    items = [
        DuplicatePair(
            client=to_read(clients[first]),
            duplicate=to_read(clients[second]),
            reasons=[DuplicateReason(r) for r in reasons],
        )
        for first, second, reasons in found
    ]
    return DuplicatePage(items=items, next_cursor=next_cursor)


def _fill_identifiers(survivor: Client, duplicate: Client) -> None:
    """The duplicate's identifiers, where the survivor has none (and the birth date agrees)."""
    if survivor.phone_cipher is None and duplicate.phone_cipher is not None:
        survivor.phone_cipher = duplicate.phone_cipher
        survivor.phone_hmac = duplicate.phone_hmac
        survivor.phone_masked = duplicate.phone_masked
    birth_agrees = survivor.birth_date is None or survivor.birth_date == duplicate.birth_date
    if survivor.resident_id_cipher is None and duplicate.resident_id_cipher is not None and birth_agrees:
        survivor.resident_id_cipher = duplicate.resident_id_cipher
        survivor.resident_id_hmac = duplicate.resident_id_hmac
        survivor.resident_id_masked = duplicate.resident_id_masked
        survivor.id_document_type = duplicate.id_document_type
        survivor.id_document_country = duplicate.id_document_country


async def _move_records(*, session: AsyncSession, survivor: Client, duplicate: Client) -> dict[str, int]:
    """Every record of the duplicate in this schema now belongs to the survivor; returns counts."""
    moved: dict[str, int] = {}
    # 决策力: one decision-maker per household; the survivor's own stays the one.
    survivor_has_decider = exists().where(
        col(FamilyMember.client_id) == survivor.id, col(FamilyMember.is_decision_maker)
    )
    await session.execute(
        update(FamilyMember)
        .where(col(FamilyMember.client_id) == duplicate.id, survivor_has_decider)
        .values(is_decision_maker=False)
    )
    result: Any = await session.execute(
        update(FamilyMember)
        .where(col(FamilyMember.client_id) == duplicate.id)
        .values(client_id=survivor.id, **owners.of(survivor))
    )
    moved["family_members"] = result.rowcount
    await session.execute(
        update(FamilyMember)
        .where(col(FamilyMember.member_client_id) == duplicate.id)
        .values(member_client_id=survivor.id)
    )
    # A client is not their own family member.
    await session.execute(
        update(FamilyMember)
        .where(col(FamilyMember.client_id) == survivor.id, col(FamilyMember.member_client_id) == survivor.id)
        .values(member_client_id=None)
    )
    for model in MOVED_WITH_CLIENT:
        table: Any = model
        # Milestones carry their client's owner and team too: the survivor's from now on.
        carried = owners.of(survivor) if model in owners.CARRY_OWNER else {}
        result = await session.execute(
            update(model).where(table.client_id == duplicate.id).values(client_id=survivor.id, **carried)
        )
        moved[str(table.__tablename__)] = result.rowcount
    for model in ONE_PER_CLIENT:
        table = model
        survivor_has_one = exists().where(table.client_id == survivor.id)
        result = await session.execute(
            update(model)
            .where(table.client_id == duplicate.id, ~survivor_has_one)
            .values(client_id=survivor.id)
        )
        moved[str(table.__tablename__)] = result.rowcount
    return moved


async def _repoint_referrals(
    *, session: AsyncSession, principal: Principal, survivor: Client, duplicate: Client, now: datetime
) -> int:
    """Clients referred by the duplicate are now referred by the survivor (each change audited)."""
    result = await session.execute(
        update(Client)
        .where(col(Client.referred_by_client_id) == duplicate.id, col(Client.id) != survivor.id)
        .values(referred_by_client_id=survivor.id, version=col(Client.version) + 1, updated_at=now)
        .returning(col(Client.id))
        .execution_options(synchronize_session=False)
    )
    repointed = list(result.scalars())
    for client_id in repointed:
        await record_change(
            session,
            principal,
            action="client.updated",
            resource_type="client",
            resource_id=client_id,
            before={"referred_by_client_id": str(duplicate.id)},
            after={"referred_by_client_id": str(survivor.id), "reason": "referrer merged"},
        )
    if survivor.referred_by_client_id == duplicate.id and duplicate.referred_by_client_id not in (
        None,
        survivor.id,
    ):
        survivor.referred_by_client_id = duplicate.referred_by_client_id
    return len(repointed)


LOCK_NOT_AVAILABLE = "55P03"


async def merge_clients(
    *, session: AsyncSession, tools: Tools, principal: Principal, survivor: Client, duplicate_id: uuid.UUID
) -> Client:
    """Merge ``duplicate_id`` into ``survivor``: records and references move, empty fields fill,
    the duplicate is soft-deleted with ``merged_into_id``; one ``client.merged`` audit row names both."""
    if duplicate_id == survivor.id:
        raise InvalidClientField("duplicate_id", "a client cannot be merged with itself")
    # The survivor is already locked (its If-Match was checked under the lock). The duplicate is
    # taken without waiting: if another request holds it (say, the same pair merged the other way
    # round), waiting could deadlock, so the caller is told to retry instead.
    try:
        await session.execute(
            select(col(Client.id)).where(col(Client.id) == duplicate_id).with_for_update(nowait=True)
        )
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise ClientBusy() from error
        raise
    duplicate = await repository.get_visible(
        session=session, principal=principal, client_id=duplicate_id, for_update=True
    )
    if duplicate is None:
        raise ClientNotFound()
    now = tools.clock.now()
    before = to_read(survivor).model_dump(mode="json")
    duplicate_before = to_read(duplicate).model_dump(mode="json")

    moved = await _move_records(session=session, survivor=survivor, duplicate=duplicate)
    moved["referred_clients"] = await _repoint_referrals(
        session=session, principal=principal, survivor=survivor, duplicate=duplicate, now=now
    )
    for field in FILLABLE:
        if getattr(survivor, field) is None and getattr(duplicate, field) is not None:
            setattr(survivor, field, getattr(duplicate, field))
    if survivor.gender == "undisclosed":
        survivor.gender = duplicate.gender
    _fill_identifiers(survivor, duplicate)

    duplicate.deleted_at = now
    duplicate.merged_into_id = survivor.id
    duplicate.updated_at = now
    duplicate.version += 1
    survivor.updated_at = now
    survivor.version += 1
    await session.flush()
    await refresh_follow_up(session=session, client=survivor, tools=tools)

    old, new = diff(before, to_read(survivor).model_dump(mode="json"))
    await record_change(
        session,
        principal,
        action="client.merged",
        resource_type="client",
        resource_id=survivor.id,
        before=old,
        after={**new, "survivor_id": str(survivor.id), "merged_client_id": str(duplicate.id), "moved": moved},
    )
    await record_change(
        session,
        principal,
        action="client.deleted",
        resource_type="client",
        resource_id=duplicate.id,
        before=duplicate_before,
        after={"merged_into_id": str(survivor.id)},
    )
    return survivor
