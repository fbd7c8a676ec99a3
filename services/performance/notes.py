"""Progress notes: the agent's written report for a period, kept with the report period
(procedure 三.11: 定期向上级汇报进展, 总结经验教训), and the per-agent business report rows."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit import audit
from crmkit.auth import Principal
from crmkit.clock import utc_now
from services.performance import repository
from services.performance.errors import NoteNotFound
from services.performance.models import ProgressNote, infra_tables
from services.performance.schemas import NoteRead, NoteWrite, PerformanceReport, ReportRow
from services.performance.scorecard import Book, add_months, label, month_of_day


async def visible_note(*, session: AsyncSession, principal: Principal, note_id: uuid.UUID) -> ProgressNote:
    note = await session.scalar(
        select(ProgressNote).where(col(ProgressNote.id) == note_id, repository.notes_visible_to(principal))
    )
    if note is None:
        raise NoteNotFound("no such progress note")
    return note


def to_read(note: ProgressNote) -> NoteRead:
    return NoteRead.model_validate(note, from_attributes=True)


async def write(*, session: AsyncSession, principal: Principal, data: NoteWrite) -> tuple[ProgressNote, bool]:
    """The caller's note for the period: written, or rewritten (one note per agent and period)."""
    note = await session.scalar(
        select(ProgressNote).where(
            col(ProgressNote.agent_id) == principal.user_id,
            col(ProgressNote.from_date) == data.from_date,
            col(ProgressNote.to_date) == data.to_date,
        )
    )
    now = utc_now()
    created = note is None
    before = None if note is None else to_read(note).model_dump(mode="json", by_alias=True)
    if note is None:
        note = ProgressNote(
            agent_id=principal.user_id,
            team_id=principal.team_id,
            from_date=data.from_date,
            to_date=data.to_date,
            progress=data.progress,
            lessons_learned=data.lessons_learned,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(note)
    else:
        note.progress, note.lessons_learned = data.progress, data.lessons_learned
        note.version += 1
        note.updated_at = now
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="progress_note.written",
        resource_type="progress_note",
        resource_id=note.id,
        before=before,
        after=to_read(note).model_dump(mode="json", by_alias=True),
    )
    return note, created


async def business_report(
    *, session: AsyncSession, principal: Principal, first: date, last: date
) -> PerformanceReport:
    """One row per agent in the caller's scope: the months the period touches against the monthly
    goals, and the agent's progress note for exactly this period."""
    first_month, last_month = month_of_day(first), month_of_day(last)
    months = []
    month = first_month
    while month <= last_month:
        months.append(month)
        month = add_months(month, 1)
    rows = await repository.scoped_months(session, principal=principal, first=first_month, last=last_month)
    goals = await repository.scoped_goals(session, principal=principal, first=first_month, last=last_month)
    notes = await repository.scoped_notes(session, principal=principal, first=first, last=last)
    book = Book(rows, goals)
    by_agent = {n.agent_id: n for n in notes}
    agents = sorted(book.agents | set(by_agent), key=str)
    report_rows = []
    for agent in agents:
        actual = book.over_months(agent, months)
        report_rows.append(
            ReportRow(
                agent_id=agent,
                actual=actual[0],
                goal=actual[1],
                progress_note=to_read(by_agent[agent]) if agent in by_agent else None,
            )
        )
    return PerformanceReport(
        from_date=first, to_date=last, months=[label(m) for m in months], agents=report_rows
    )
