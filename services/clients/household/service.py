"""Household rules: at most one spouse and one decision-maker, no birth after today, family
members who are clients must be clients the caller can see."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page
from crmkit.problems import Conflict
from services.clients import repository
from services.clients.errors import InvalidClientField
from services.clients.household.schemas import (
    FamilyMemberCreate,
    FamilyMemberRead,
    FamilyMemberUpdate,
    HouseholdFinances,
    HouseholdRead,
    IncomeRecord,
    Relationship,
)
from services.clients.models import Client, FamilyMember, Household, HouseholdIncome
from services.clients.repository import newest_first
from services.clients.tools import Tools
from services.clients.trail import diff, record_change

MAX_MEMBERS = 30
FINANCE_FIELDS = tuple(HouseholdFinances.model_fields)


def age_on(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def member_to_read(member: FamilyMember, today: date) -> FamilyMemberRead:
    return FamilyMemberRead(
        id=member.id,
        client_id=member.client_id,
        relationship=Relationship(member.relationship),
        name=member.name,
        gender=member.gender,
        birth_date=member.birth_date,
        age=age_on(member.birth_date, today),
        is_dependent=member.is_dependent,
        is_decision_maker=member.is_decision_maker,
        is_breadwinner=member.is_breadwinner,
        annual_income=member.annual_income,
        member_client_id=member.member_client_id,
        notes=member.notes,
        version=member.version,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


def _member_view(member: FamilyMember) -> dict[str, Any]:
    return member_to_read(member, date.min).model_dump(mode="json", exclude={"age"})


async def members_of(*, session: AsyncSession, client_id: uuid.UUID) -> list[FamilyMember]:
    """Every family member of the client (a household is small: at most ``MAX_MEMBERS``)."""
    stmt = (
        select(FamilyMember)
        .where(col(FamilyMember.client_id) == client_id)
        .order_by(col(FamilyMember.created_at), col(FamilyMember.id))
    )
    return list((await session.execute(stmt)).scalars())


async def finances_of(*, session: AsyncSession, client_id: uuid.UUID) -> Household | None:
    return await session.get(Household, client_id)


def _sum_known(*values: Decimal | None) -> Decimal | None:
    known = [v for v in values if v is not None]
    return sum(known, Decimal(0)) if known else None


def annual_spending(household: Household | None) -> Decimal | None:
    if household is None:
        return None
    monthly = household.monthly_expenses * 12 if household.monthly_expenses is not None else None
    return _sum_known(monthly, household.annual_education_spending, household.annual_elder_care_spending)


def total_liabilities(household: Household | None) -> Decimal | None:
    if household is None:
        return None
    return _sum_known(household.mortgage_balance, household.other_liabilities)


async def income_history(*, session: AsyncSession, client_id: uuid.UUID) -> list[HouseholdIncome]:
    stmt = (
        select(HouseholdIncome)
        .where(col(HouseholdIncome.client_id) == client_id)
        .order_by(col(HouseholdIncome.recorded_at).desc(), col(HouseholdIncome.id).desc())
    )
    return list((await session.execute(stmt)).scalars())


def household_to_read(
    *,
    client: Client,
    household: Household | None,
    members: list[FamilyMember],
    incomes: list[HouseholdIncome],
    today: date,
) -> HouseholdRead:
    if household is None:
        finances = HouseholdFinances().model_dump()
    else:
        finances = {name: getattr(household, name) for name in FINANCE_FIELDS}
    share = None
    if household and household.annual_income and household.mortgage_monthly_payment is not None:
        share = (household.mortgage_monthly_payment * 12 / household.annual_income).quantize(Decimal("0.01"))
    return HouseholdRead(
        client_id=client.id,
        **finances,
        total_liabilities=total_liabilities(household),
        annual_spending=annual_spending(household),
        mortgage_share_of_income=share,
        decision_maker="family_member" if any(m.is_decision_maker for m in members) else "unknown",
        members=[member_to_read(m, today) for m in members],
        income_history=[
            IncomeRecord(annual_income=i.annual_income, recorded_at=i.recorded_at) for i in incomes
        ],
        version=household.version if household else 0,
        updated_at=household.updated_at if household else None,
    )


async def save_finances(
    *, session: AsyncSession, principal: Principal, client: Client, data: HouseholdFinances
) -> Household:
    """Replace the household finances (created on first save)."""
    now = datetime.now(UTC)
    household = await finances_of(session=session, client_id=client.id)
    before = {name: getattr(household, name) for name in FINANCE_FIELDS} if household else {}
    if household is None:
        household = Household(client_id=client.id, version=0, created_at=now, updated_at=now)
        session.add(household)
    for name in FINANCE_FIELDS:
        setattr(household, name, getattr(data, name))
    old, new = diff(
        HouseholdFinances.model_validate(before).model_dump(mode="json"), data.model_dump(mode="json")
    )
    if not new and household.version > 0:
        return household
    household.version += 1
    household.updated_at = now
    if "annual_income" in new and data.annual_income is not None:
        session.add(HouseholdIncome(client_id=client.id, annual_income=data.annual_income, recorded_at=now))
    await session.flush()
    await record_change(
        session,
        principal,
        action="household.updated",
        resource_type="household",
        resource_id=client.id,
        before=old,
        after=new,
    )
    return household


async def household_view(
    *, session: AsyncSession, client: Client, household: Household | None, today: date
) -> HouseholdRead:
    """The household as read: finances and derived totals, family members, income history."""
    return household_to_read(
        client=client,
        household=household,
        members=await members_of(session=session, client_id=client.id),
        incomes=await income_history(session=session, client_id=client.id),
        today=today,
    )


async def _check_member(
    *,
    session: AsyncSession,
    principal: Principal,
    tools: Tools,
    client: Client,
    member: FamilyMember,
    others: list[FamilyMember],
) -> None:
    if member.birth_date is not None and member.birth_date > tools.clock.today():
        raise InvalidClientField("birth_date", "cannot be after today")
    if member.relationship == Relationship.SPOUSE and any(
        o.relationship == Relationship.SPOUSE for o in others
    ):
        raise InvalidClientField("relationship", "this client already has a spouse on file")
    if member.is_decision_maker:
        current = next((o for o in others if o.is_decision_maker), None)
        if current is not None:
            raise Conflict(
                f"{current.name} is already the household's decision-maker; clear that first",
                extra={"decision_maker_id": str(current.id)},
            )
    if member.member_client_id is not None:
        if member.member_client_id == client.id:
            raise InvalidClientField("member_client_id", "a client cannot be their own family member")
        if not await repository.exists_visible(
            session=session, principal=principal, client_id=member.member_client_id
        ):
            raise InvalidClientField("member_client_id", "no such client in your scope")


async def add_member(
    *, session: AsyncSession, principal: Principal, tools: Tools, client: Client, data: FamilyMemberCreate
) -> FamilyMember:
    others = await members_of(session=session, client_id=client.id)
    if len(others) >= MAX_MEMBERS:
        raise InvalidClientField("relationship", f"a household holds at most {MAX_MEMBERS} members")
    now = tools.clock.now()
    member = FamilyMember(
        client_id=client.id,
        owner_agent_id=client.owner_agent_id,  # carried: services/clients/owners.py
        team_id=client.team_id,
        relationship=data.relationship.value,
        name=data.name,
        gender=data.gender.value,
        birth_date=data.birth_date,
        is_dependent=data.is_dependent,
        is_decision_maker=data.is_decision_maker,
        is_breadwinner=data.is_breadwinner,
        annual_income=data.annual_income,
        member_client_id=data.member_client_id,
        notes=data.notes,
        version=1,
        created_at=now,
        updated_at=now,
    )
    await _check_member(
        session=session, principal=principal, tools=tools, client=client, member=member, others=others
    )
    session.add(member)
    await session.flush()
    await record_change(
        session,
        principal,
        action="family_member.added",
        resource_type="family_member",
        resource_id=member.id,
        after=_member_view(member),
    )
    return member


async def update_member(
    *,
    session: AsyncSession,
    principal: Principal,
    tools: Tools,
    client: Client,
    member: FamilyMember,
    patch: FamilyMemberUpdate,
) -> FamilyMember:
    given = patch.model_fields_set
    before = _member_view(member)
    for name in given:
        value = getattr(patch, name)
        setattr(member, name, value.value if isinstance(value, StrEnum) else value)
    others = [o for o in await members_of(session=session, client_id=client.id) if o.id != member.id]
    await _check_member(
        session=session, principal=principal, tools=tools, client=client, member=member, others=others
    )
    old, new = diff(before, _member_view(member))
    if not new:
        return member
    member.version += 1
    member.updated_at = tools.clock.now()
    await session.flush()
    await record_change(
        session,
        principal,
        action="family_member.updated",
        resource_type="family_member",
        resource_id=member.id,
        before=old,
        after=new,
    )
    return member


async def remove_member(*, session: AsyncSession, principal: Principal, member: FamilyMember) -> None:
    before = _member_view(member)
    await session.delete(member)
    await session.flush()
    await record_change(
        session,
        principal,
        action="family_member.removed",
        resource_type="family_member",
        resource_id=member.id,
        before=before,
    )


async def members_page(
    *, session: AsyncSession, client: Client, cursor: str | None, limit: int, today: date
) -> Page[FamilyMemberRead]:
    """The client's family members, newest first (ages on the business date ``today``)."""
    rows, next_cursor = await newest_first(
        session=session,
        model=FamilyMember,
        conditions=[col(FamilyMember.client_id) == client.id],
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[member_to_read(row, today) for row in rows], next_cursor=next_cursor)
