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

import enum
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    SmallInteger,
    String,
    Uuid,
    and_,
    bindparam,
    not_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.pagination import Page, read_cursor, trim
from crmkit.scope import SCOPE_PARAMETER, Reach, reach, reach_predicate, scope_parameter
from services.clients.milestones.schemas import UpcomingDate, UpcomingKind
from services.clients.milestones.window import After, Cursor, Run, after_in, passed, runs
from services.clients.models import Client, FamilyMember, Milestone

BIRTHDAY = UpcomingKind.BIRTHDAY.value
T = TypeVar("T")


def sort_key(entry: UpcomingDate) -> tuple[str, str, str]:
    """Soonest first; a stable, unique order so a cursor can resume after any entry."""
    subject = entry.milestone_id or entry.family_member_id or entry.client_id
    return (entry.on.isoformat(), entry.kind.value, str(subject))


class Resume(enum.Enum):
    """Where a page resumes inside a run, as the shape of its predicate (the cursor's values are
    parameters: ``after_md``, ``after_kind``, ``after_subject``)."""

    START = "the run's start"
    FROM_DAY = "the cursor's day"  # a birthday after an earlier kind of entry on that day
    AFTER_DAY = "the day after the cursor's"  # a birthday after a later kind of entry on that day
    AFTER_ENTRY = "after the cursor's entry"


def _birthdays_resume(after: After | None) -> Resume:
    """Birthdays (all of one kind) past the cursor inside a run: ``(md, id)`` keyset."""
    if after is None:
        return Resume.START
    if after.kind < BIRTHDAY:
        return Resume.FROM_DAY
    if after.kind > BIRTHDAY:
        return Resume.AFTER_DAY
    return Resume.AFTER_ENTRY


def _after_md() -> Any:
    return bindparam("after_md", type_=SmallInteger())


def _after_subject() -> Any:
    return bindparam("after_subject", type_=Uuid())


def _birthdays_after(md: Any, row_id: Any, resume: Resume) -> list[ColumnElement[bool]]:
    if resume is Resume.FROM_DAY:
        return [md >= _after_md()]
    if resume is Resume.AFTER_DAY:
        return [md > _after_md()]
    if resume is Resume.AFTER_ENTRY:
        return [tuple_(md, row_id) > tuple_(_after_md(), _after_subject())]
    return []


def _in_run(md: Any, single_day: bool) -> ColumnElement[bool]:
    """The run's month-days (``first_md``, ``last_md``)."""
    first = bindparam("first_md", type_=md.type)
    within: ColumnElement[bool] = (
        md == first if single_day else md.between(first, bindparam("last_md", type_=md.type))
    )
    return within


def _matched(value: T | None) -> T:
    """A nullable column the query's own filter has matched (a month-day, a birth date)."""
    if value is None:
        raise ValueError("the filter matched a null")
    return value


def _in_reach(kind: Reach, model: type[Client] | type[FamilyMember] | type[Milestone]) -> ColumnElement[bool]:
    return reach_predicate(
        kind, owner=col(model.owner_agent_id), team=col(model.team_id), value=scope_parameter()
    )


def _client_key(kind: Reach) -> list[ColumnElement[bool]]:
    """The joined client's own owner, where the caller's scope is one owner (an agent's book): the
    client's distribution key named, so Citus routes the statement to one shard (docs/scaling.md).
    Not for a team or an admin: the client's ``team_id`` is no key, and a second filter on the
    client would only make the planner expect fewer rows than the index range holds, and read the
    scope's whole window to sort it instead of stopping after a page. (An equality of the two
    owners in the join misleads it the same way: a hash join over every client for an admin.)"""
    return [] if kind in (Reach.ALL, Reach.TEAM) else [_in_reach(kind, Client)]


def _carried_scope(kind: Reach, model: type[FamilyMember] | type[Milestone]) -> list[ColumnElement[bool]]:
    """Family members and events are found by their own owner and team (the client's, carried: the
    index range of the caller's scope), then joined to their client by id (its name, and that it
    is live)."""
    return [col(Client.deleted_at).is_(None), *_client_key(kind), _in_reach(kind, model)]


# Each source's statement is built once per reach, cursor shape, run shape and page size (building
# them per run and per request was a quarter of the clients service's agenda CPU, issue 22).


@functools.lru_cache(maxsize=128)
def _clients(
    kind: Reach, resume: Resume, single_day: bool, need: int
) -> Select[uuid.UUID, str, date | None, int | None]:
    md, row_id = col(Client.birth_md), col(Client.id)
    return (
        select(row_id, col(Client.name), col(Client.birth_date), md)
        .where(
            _in_run(md, single_day),
            col(Client.birth_date) < bindparam("born_before", type_=Date),
            col(Client.deleted_at).is_(None),
            _in_reach(kind, Client),
            *_birthdays_after(md, row_id, resume),
        )
        .order_by(md, row_id)
        .limit(need)
    )


@functools.lru_cache(maxsize=128)
def _family(kind: Reach, resume: Resume, single_day: bool, need: int) -> Select[FamilyMember, str]:
    md, row_id = col(FamilyMember.birth_md), col(FamilyMember.id)
    return (
        select(FamilyMember, col(Client.name))
        .join(Client, col(Client.id) == col(FamilyMember.client_id))
        .where(
            _in_run(md, single_day),
            col(FamilyMember.birth_date) < bindparam("born_before", type_=Date),
            *_carried_scope(kind, FamilyMember),
            *_birthdays_after(md, row_id, resume),
        )
        .order_by(md, row_id)
        .limit(need)
    )


def _events(kind: Reach, *conditions: Any) -> Select[Milestone, str, str]:
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
        .where(*conditions, *_carried_scope(kind, Milestone))
    )


def _events_after(on: Any, paged: bool) -> list[ColumnElement[bool]]:
    """Events past the cursor: ``(day, kind, id)`` keyset (``on`` is the month-day or the date)."""
    if not paged:
        return []
    after = (
        bindparam("after_on", type_=on.type),
        bindparam("after_kind", type_=String()),
        _after_subject(),
    )
    return [tuple_(on, col(Milestone.kind), col(Milestone.id)) > tuple_(*after)]


@functools.lru_cache(maxsize=128)
def _yearly_events(kind: Reach, paged: bool, single_day: bool, need: int) -> Select[Milestone, str, str]:
    # Kinds are lower-case words that differ in their first letter: any collation orders them
    # as Python does.
    md = col(Milestone.occurs_md)
    return (
        _events(
            kind,
            col(Milestone.recurs_yearly),
            _in_run(md, single_day),
            col(Milestone.occurs_on) < bindparam("begun_before", type_=Date),
            *_events_after(md, paged),
        )
        .order_by(md, col(Milestone.kind), col(Milestone.id))
        .limit(need)
    )


@functools.lru_cache(maxsize=32)
def _one_off_events(kind: Reach, paged: bool, need: int) -> Select[Milestone, str, str]:
    on = col(Milestone.occurs_on)
    return (
        _events(
            kind,
            not_(col(Milestone.recurs_yearly)),
            on.between(bindparam("first", type_=Date), bindparam("last", type_=Date)),
            *_events_after(on, paged),
        )
        .order_by(on, col(Milestone.kind), col(Milestone.id))
        .limit(need)
    )


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


def _run_parameters(run: Run, after: After | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "first_md": run.first_md,
        "last_md": run.last_md,
        "born_before": run.born_before,
        "begun_before": run.begun_before,
    }
    if after is not None:
        parameters.update(
            after_md=after.md, after_on=after.md, after_kind=after.kind, after_subject=after.subject
        )
    return parameters


class Upcoming:
    """One page of the window ``[first, first + within_days]`` for the caller's scope."""

    def __init__(self, *, session: AsyncSession, principal: Principal, first: date, within_days: int) -> None:
        self.session = session
        self.kind, scope_id = reach(principal)
        self.scope = {SCOPE_PARAMETER: scope_id}
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

    async def _run(self, stmt: Any, run: Run, after: After | None) -> list[Any]:
        return list((await self.session.execute(stmt, {**self.scope, **_run_parameters(run, after)})).all())

    async def clients(self, run: Run, after: After | None, need: int) -> list[UpcomingDate]:
        stmt = _clients(self.kind, _birthdays_resume(after), run.first_md == run.last_md, need)
        return [
            self._birthday(
                run.on(_matched(month)),
                _matched(born),
                client_id=client_id,
                client_name=name,
                person_name=name,
            )
            for client_id, name, born, month in await self._run(stmt, run, after)
        ]

    async def family(self, run: Run, after: After | None, need: int) -> list[UpcomingDate]:
        stmt = _family(self.kind, _birthdays_resume(after), run.first_md == run.last_md, need)
        return [
            self._birthday(
                run.on(_matched(member.birth_md)),
                _matched(member.birth_date),
                client_id=member.client_id,
                client_name=client_name,
                family_member_id=member.id,
                person_name=member.name,
            )
            for member, client_name in await self._run(stmt, run, after)
        ]

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
        stmt = _yearly_events(self.kind, after is not None, run.first_md == run.last_md, need)
        return [
            self._event(run.on(_matched(event.occurs_md)), event, client_name, member_name)
            for event, client_name, member_name in await self._run(stmt, run, after)
        ]

    async def one_off_events(self, cursor: Cursor | None, need: int) -> list[UpcomingDate]:
        parameters: dict[str, Any] = {**self.scope, "first": self.first, "last": self.last}
        if cursor is not None:
            parameters.update(after_on=cursor[0], after_kind=cursor[1], after_subject=cursor[2])
        stmt = _one_off_events(self.kind, cursor is not None, need)
        return [
            self._event(event.occurs_on, event, client_name, member_name)
            for event, client_name, member_name in (await self.session.execute(stmt, parameters)).all()
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
