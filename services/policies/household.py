"""Who is insured, as the clients service shows the household, and what cover they already hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from services.policies.errors import InvalidField
from services.policies.models import Policy
from services.policies.peers import ClientView, Household
from services.policies.repository import visible_to
from services.policies.terms import age_on

COVERING_STATUSES = ("issued", "receipt_signed", "return_visit_done", "in_force")
"""A policy in these states covers its insured (the in-force rule adds the dates)."""


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    member_id: uuid.UUID | None
    name: str
    birth_date: date | None
    is_child: bool
    is_breadwinner: bool

    def age(self, on: date) -> int | None:
        return age_on(self.birth_date, on) if self.birth_date else None


def resolve_insured(
    *,
    client: ClientView,
    household: Household,
    member_id: uuid.UUID | None,
    field: str,
    today: date,
    age_of_majority: int,
) -> InsuredPerson:
    """The client themself, or a member of their household; any other id is a 422 on ``field``."""
    if member_id is None:
        return InsuredPerson(None, client.name, client.birth_date, False, household.client_is_breadwinner)
    member = household.member(member_id)
    if member is None:
        raise InvalidField(field, "no such family member in the client's household")
    minor = member.birth_date is not None and age_on(member.birth_date, today) < age_of_majority
    return InsuredPerson(
        member.id,
        member.name,
        member.birth_date,
        member.relationship == "child" or minor,
        member.is_breadwinner,
    )


def breadwinners(*, client: ClientView, household: Household) -> list[InsuredPerson]:
    people = [
        InsuredPerson(m.id, m.name, m.birth_date, False, True) for m in household.members if m.is_breadwinner
    ]
    if household.client_is_breadwinner:
        people.insert(0, InsuredPerson(None, client.name, client.birth_date, False, True))
    return people


async def existing_cover(
    *, session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> dict[uuid.UUID | None, set[str]]:
    """Walls already covered per insured by the policies of this client (the caller can see)."""
    stmt = select(col(Policy.insured_member_id), col(Policy.walls)).where(
        col(Policy.client_id) == client_id,
        col(Policy.status).in_(COVERING_STATUSES),
        visible_to(Policy, principal),
    )
    cover: dict[uuid.UUID | None, set[str]] = {}
    for member_id, walls in (await session.execute(stmt)).all():
        cover.setdefault(member_id, set()).update(walls)
    return cover
