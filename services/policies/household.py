"""Who is insured, as the clients service shows the household: the client or one of its members."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from services.policies.errors import InvalidField
from services.policies.peers import ClientView, Household
from services.policies.terms import age_on


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
