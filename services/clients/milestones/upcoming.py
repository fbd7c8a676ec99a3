"""Upcoming birthdays and family events: one page, soonest first, however big the book.

Entries are ordered by ``(day, kind, subject id)`` — unique, so a cursor resumes after any entry.
Each source (clients' birthdays, family members' birthdays, yearly events, one-off events) is read
in that order through an index, run by run of the window (see ``window.py``), and stops once it
has a page: at most ``limit + 1`` entries a source after the cursor, merged here. Nothing reads
every client born in the window (about 20,000 for a week at a million clients).

Each source has one index per scope, the scope's column first: ``(birth_md, id)`` for an admin,
``(owner_agent_id, birth_md, id)`` for an agent and ``(team_id, birth_md, id)`` for a team, on
``clients`` (live rows) and on ``family_members``; ``(…, occurs_md, kind, id) WHERE recurs_yearly``
and ``(…, occurs_on, kind, id)`` on ``milestones``. Family members and milestones carry their
client's owner and team (``services/clients/owners.py``), so an agent's or a team's rows are
filtered on their own columns and only the page's rows are joined to ``clients`` (its name, and
that it is live): the cost follows the caller's scope, not the whole book.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, literal, not_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal, Role
from crmkit.pagination import Page, read_cursor, trim
from crmkit.scope import owner_scope
from services.clients.milestones.schemas import UpcomingDate, UpcomingKind
from services.clients.milestones.window import After, Cursor, Run, after_in, passed, runs
from services.clients.models import Client, FamilyMember, Milestone
from services.clients.repository import live_and_visible, visible_to

BIRTHDAY = UpcomingKind.BIRTHDAY.value
T = TypeVar("T")


def sort_key(entry: UpcomingDate) -> tuple[str, str, str]:
    """Soonest first; a stable, unique order so a cursor can resume after any entry."""
    subject = entry.milestone_id or entry.family_member_id or entry.client_id
    return (entry.on.isoformat(), entry.kind.value, str(subject))


def _birthdays_after(md: Any, row_id: Any, after: After | None) -> list[ColumnElement[bool]]:
    """Birthdays (all of one kind) past the cursor inside a run: ``(md, id)`` keyset."""
    if after is None:
        return []
    if after.kind < BIRTHDAY:
        return [md >= after.md]
    if after.kind > BIRTHDAY:
        return [md > after.md]
    return [tuple_(md, row_id) > tuple_(literal(after.md), literal(after.subject))]


def _in_run(md: Any, run: Run) -> ColumnElement[bool]:
    within: ColumnElement[bool] = (
        md == run.first_md if run.first_md == run.last_md else md.between(run.first_md, run.last_md)
    )
    return within


def _matched(value: T | None) -> T:
    """A nullable column the query's own filter has matched (a month-day, a birth date)."""
    if value is None:
        raise ValueError("the filter matched a null")
    return value


def _client_key(principal: Principal) -> list[ColumnElement[bool]]:
    """The joined client's own owner, where the caller's scope is one owner (an agent's book): the
    client's distribution key named, so Citus routes the statement to one shard (docs/scaling.md).
    Not for a team or an admin: the client's ``team_id`` is no key, and a second filter on the
    client would only make the planner expect fewer rows than the index range holds, and read the
    scope's whole window to sort it instead of stopping after a page. (An equality of the two
    owners in the join misleads it the same way: a hash join over every client for an admin.)"""
    if principal.role is Role.ADMIN or (principal.role is Role.TEAM_LEAD and principal.team_id is not None):
        return []
    return [visible_to(principal)]


Fetch = Callable[[Run, After | None, int], Awaitable[list[UpcomingDate]]]


async def _by_runs(
    window: Sequence[Run], cursor: Cursor | None, need: int, fetch: Fetch
) -> list[UpcomingDate]:
    """The first ``need`` entries of one source after the cursor, run by run; a run is read only
    while fewer than ``need`` entries were found on earlier days."""
    found: list[UpcomingDate] = []
    for run in window:
        if passed(run, cursor):
            continue
        if sum(1 for entry in found if entry.on < run.first_day) >= need:
            break
        found += await fetch(run, after_in(run, cursor), need)
    return found


class Upcoming:
    """One page of the window ``[first, first + within_days]`` for the caller's scope."""

    def __init__(self, *, session: AsyncSession, principal: Principal, first: date, within_days: int) -> None:
        self.session = session
        self.scope = live_and_visible(principal)
        # Family members and events are found by their own owner and team (the client's, carried:
        # the index range of the caller's scope), then joined to their client by id (its name, and
        # that it is live).
        client = _client_key(principal)

        def carried_scope(model: type[FamilyMember] | type[Milestone]) -> list[ColumnElement[bool]]:
            owner, team = col(model.owner_agent_id), col(model.team_id)
            return [col(Client.deleted_at).is_(None), *client, owner_scope(principal, owner=owner, team=team)]

        self.member_scope = carried_scope(FamilyMember)
        self.event_scope = carried_scope(Milestone)
        self.first = first
        self.last = first + timedelta(days=within_days)
        self.window = runs(first, within_days)

    def _birthday(self, on: date, born: date, **fields: Any) -> UpcomingDate:
        return UpcomingDate(
            on=on,
            days_away=(on - self.first).days,
            kind=UpcomingKind.BIRTHDAY,
            title=f"{fields['person_name']}'s birthday",
            turning=on.year - born.year,
            **fields,
        )

    async def clients(self, run: Run, after: After | None, need: int) -> list[UpcomingDate]:
        md, row_id = col(Client.birth_md), col(Client.id)
        stmt = (
            select(row_id, col(Client.name), col(Client.birth_date), md)
            .where(
                _in_run(md, run),
                col(Client.birth_date) < run.born_before,
                *self.scope,
                *_birthdays_after(md, row_id, after),
            )
            .order_by(md, row_id)
            .limit(need)
        )
        return [
            self._birthday(
                run.on(_matched(month)),
                _matched(born),
                client_id=client_id,
                client_name=name,
                person_name=name,
            )
            for client_id, name, born, month in (await self.session.execute(stmt)).all()
        ]

    async def family(self, run: Run, after: After | None, need: int) -> list[UpcomingDate]:
        md, row_id = col(FamilyMember.birth_md), col(FamilyMember.id)
        stmt = (
            select(FamilyMember, col(Client.name))
            .join(Client, col(Client.id) == col(FamilyMember.client_id))
            .where(
                _in_run(md, run),
                col(FamilyMember.birth_date) < run.born_before,
                *self.member_scope,
                *_birthdays_after(md, row_id, after),
            )
            .order_by(md, row_id)
            .limit(need)
        )
        return [
            self._birthday(
                run.on(_matched(member.birth_md)),
                _matched(member.birth_date),
                client_id=member.client_id,
                client_name=client_name,
                family_member_id=member.id,
                person_name=member.name,
            )
            for member, client_name in (await self.session.execute(stmt)).all()
        ]

    def _events(self, *conditions: Any) -> Any:
        return (
            select(Milestone, col(Client.name), col(FamilyMember.name))
            .join(Client, col(Client.id) == col(Milestone.client_id))
            .outerjoin(
                FamilyMember,
                # The client too: the member's key, for a co-located join (docs/scaling.md).
                and_(
                    col(FamilyMember.id) == col(Milestone.family_member_id),
                    col(FamilyMember.client_id) == col(Milestone.client_id),
                ),
            )
            .where(*conditions, *self.event_scope)
        )

    def _event(self, on: date, event: Milestone, client_name: str, member_name: str | None) -> UpcomingDate:
        return UpcomingDate(
            on=on,
            days_away=(on - self.first).days,
            kind=UpcomingKind(event.kind),
            title=event.title,
            client_id=event.client_id,
            client_name=client_name,
            family_member_id=event.family_member_id,
            person_name=member_name or client_name,
            milestone_id=event.id,
        )

    async def yearly_events(self, run: Run, after: After | None, need: int) -> list[UpcomingDate]:
        # Kinds are lower-case words that differ in their first letter: any collation orders them
        # as Python does.
        md, kind, row_id = col(Milestone.occurs_md), col(Milestone.kind), col(Milestone.id)
        keyset = (
            []
            if after is None
            else [
                tuple_(md, kind, row_id)
                > tuple_(literal(after.md), literal(after.kind), literal(after.subject))
            ]
        )
        stmt = (
            self._events(
                col(Milestone.recurs_yearly),
                _in_run(md, run),
                col(Milestone.occurs_on) < run.begun_before,
                *keyset,
            )
            .order_by(md, kind, row_id)
            .limit(need)
        )
        return [
            self._event(run.on(_matched(event.occurs_md)), event, client_name, member_name)
            for event, client_name, member_name in (await self.session.execute(stmt)).all()
        ]

    async def one_off_events(self, cursor: Cursor | None, need: int) -> list[UpcomingDate]:
        on, kind, row_id = col(Milestone.occurs_on), col(Milestone.kind), col(Milestone.id)
        keyset = (
            []
            if cursor is None
            else [
                tuple_(on, kind, row_id) > tuple_(literal(cursor[0]), literal(cursor[1]), literal(cursor[2]))
            ]
        )
        stmt = (
            self._events(not_(col(Milestone.recurs_yearly)), on.between(self.first, self.last), *keyset)
            .order_by(on, kind, row_id)
            .limit(need)
        )
        return [
            self._event(event.occurs_on, event, client_name, member_name)
            for event, client_name, member_name in (await self.session.execute(stmt)).all()
        ]

    async def page(self, *, cursor: str | None, limit: int) -> Page[UpcomingDate]:
        after: Cursor | None = read_cursor(cursor, date, str, uuid.UUID)
        need = limit + 1
        found = [
            *await _by_runs(self.window, after, need, self.clients),
            *await _by_runs(self.window, after, need, self.family),
            *await _by_runs(self.window, after, need, self.yearly_events),
            *await self.one_off_events(after, need),
        ]
        found.sort(key=sort_key)
        items, next_cursor = trim(found, limit, key=sort_key)
        return Page(items=list(items), next_cursor=next_cursor)
