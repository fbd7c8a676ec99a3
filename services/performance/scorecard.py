"""Scorecards: actual against goal per agent and month, the 12-month trend, the funnel and the
referral share, read from the precomputed monthly counters (``counters.py``) and the goals.
One agent's year is one range read on ``agent_months``' primary key; a team's on its team index."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from crmkit import csv
from services.performance.models import COUNTERS, TARGETS
from services.performance.schemas import (
    AgentRow,
    ChannelCount,
    Figures,
    FunnelStage,
    GoalStatus,
    MonthFigures,
    Referrals,
    Scorecard,
    TeamScorecard,
)

CHANNELS = ("warm_market", "referral", "cold", "online")
FUNNEL = ("leads", "tiered", "needs_analysed", "proposals", "applications", "issued", "in_force")
NOBODY = uuid.UUID(int=0)


def parse_month(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


def month_of_day(day: date) -> date:
    return day.replace(day=1)


def label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def last_twelve(month: date) -> list[date]:
    return [add_months(month, -i) for i in range(11, -1, -1)]


INDEX = {name: i for i, name in enumerate(COUNTERS)}
GOAL_INDEX = {name: i for i, name in enumerate(TARGETS)}


@dataclass
class Tally:
    """Counters summed over agents and/or months (in ``COUNTERS`` order)."""

    values: list[int | Decimal] = field(default_factory=lambda: [0] * len(COUNTERS))

    def add(self, counts: Sequence[int | Decimal]) -> None:
        self.values = [a + b for a, b in zip(self.values, counts, strict=True)]

    def merge(self, other: Tally) -> None:
        self.add(other.values)

    def __getitem__(self, name: str) -> int | Decimal:
        return self.values[INDEX[name]]

    def figures(self) -> Figures:
        return Figures.model_validate({name: self[name] for name in TARGETS})

    def referrals(self) -> Referrals:
        premium = Decimal(self["first_year_premium"])
        referral = Decimal(self["referral_premium"])
        return Referrals(
            leads=int(self["leads_referral"]),
            closed_deals=int(self["referral_deals"]),
            first_year_premium=referral,
            share_of_business=round(float(referral / premium), 4) if premium else None,
        )

    def funnel(self) -> list[FunnelStage]:
        leads = sum(int(self[f"leads_{c}"]) for c in CHANNELS)
        stages = [FunnelStage(stage="leads", count=leads)]
        return stages + [FunnelStage(stage=s, count=int(self[s])) for s in FUNNEL[1:]]

    def channels(self) -> list[ChannelCount]:
        return [ChannelCount(channel=c, count=int(self[f"leads_{c}"])) for c in CHANNELS]


@dataclass
class GoalTally:
    """Monthly goals summed (in ``TARGETS`` order), and the statuses met on the way."""

    values: list[int | Decimal] = field(default_factory=lambda: [0] * len(TARGETS))
    statuses: set[str] = field(default_factory=set)

    def add(self, targets: Sequence[int | Decimal], statuses: Iterable[str]) -> None:
        self.values = [a + b for a, b in zip(self.values, targets, strict=True)]
        self.statuses.update(statuses)

    def figures(self) -> Figures:
        return Figures.model_validate(dict(zip(TARGETS, self.values, strict=True)))

    def status(self) -> GoalStatus | None:
        """The least settled status among the goals summed (proposed before adjusted before approved)."""
        for status in (GoalStatus.PROPOSED, GoalStatus.ADJUSTED, GoalStatus.APPROVED):
            if status in self.statuses:
                return status
        return None


def progress(actual: Figures, goal: Figures | None) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for name in TARGETS:
        target = getattr(goal, name) if goal is not None else 0
        result[name] = round(float(Decimal(getattr(actual, name)) / Decimal(target)), 4) if target else None
    return result


class Book:
    """Counter rows ``(agent_id, month, *COUNTERS)`` and monthly goals ``(agent_id, year, month,
    status, *TARGETS)`` (``repository``), indexed by agent and month."""

    def __init__(self, rows: Iterable[Sequence[Any]], goals: Iterable[Sequence[Any]]) -> None:
        self.counts: dict[tuple[uuid.UUID, date], Sequence[int | Decimal]] = {}
        self.goals: dict[tuple[uuid.UUID, date], GoalTally] = defaultdict(GoalTally)
        self.agents: set[uuid.UUID] = set()
        for row in rows:
            self.counts[(row[0], row[1])] = row[2:]
            self.agents.add(row[0])
        for goal in goals:
            self.goals[(goal[0], date(goal[1], goal[2], 1))].add(goal[4:], (goal[3],))
            self.agents.add(goal[0])

    def tally(self, agents: Iterable[uuid.UUID], month: date) -> tuple[Tally, GoalTally | None]:
        total, goal, any_goal = Tally(), GoalTally(), False
        for agent in agents:
            counted = self.counts.get((agent, month))
            if counted is not None:
                total.add(counted)
            aim = self.goals.get((agent, month))
            if aim is not None:
                any_goal = True
                goal.add(aim.values, aim.statuses)
        return total, goal if any_goal else None

    def over_months(self, agent: uuid.UUID, months: list[date]) -> tuple[Figures, Figures | None]:
        """One agent's figures and goals summed over several months."""
        total, goal, any_goal = Tally(), GoalTally(), False
        for month in months:
            counted, aim = self.tally([agent], month)
            total.merge(counted)
            if aim is not None:
                any_goal = True
                goal.add(aim.values, aim.statuses)
        return total.figures(), goal.figures() if any_goal else None

    def trend(self, agents: list[uuid.UUID], month: date) -> list[MonthFigures]:
        out = []
        for each in last_twelve(month):
            counted, goal = self.tally(agents, each)
            out.append(
                MonthFigures(
                    month=label(each),
                    actual=counted.figures(),
                    goal=goal.figures() if goal else None,
                    goal_status=goal.status() if goal else None,
                )
            )
        return out

    def row(self, agents: list[uuid.UUID], month: date, agent_id: uuid.UUID) -> AgentRow:
        counted, goal = self.tally(agents, month)
        actual = counted.figures()
        aim = goal.figures() if goal else None
        return AgentRow(
            agent_id=agent_id,
            actual=actual,
            goal=aim,
            goal_status=goal.status() if goal else None,
            progress=progress(actual, aim),
            referrals=counted.referrals(),
        )


def agent_scorecard(book: Book, *, agent_id: uuid.UUID, team_id: uuid.UUID | None, month: date) -> Scorecard:
    counted, goal = book.tally([agent_id], month)
    actual = counted.figures()
    aim = goal.figures() if goal else None
    return Scorecard(
        agent_id=agent_id,
        team_id=team_id,
        month=label(month),
        actual=actual,
        goal=aim,
        goal_status=goal.status() if goal else None,
        progress=progress(actual, aim),
        trend=book.trend([agent_id], month),
        funnel=counted.funnel(),
        leads_by_channel=counted.channels(),
        referrals=counted.referrals(),
    )


def team_scorecard(book: Book, *, scope: str, team_id: uuid.UUID | None, month: date) -> TeamScorecard:
    agents = sorted(book.agents, key=str)
    counted, _ = book.tally(agents, month)
    return TeamScorecard(
        scope=scope,
        team_id=team_id,
        month=label(month),
        agents=[book.row([a], month, a) for a in agents],
        total=book.row(agents, month, NOBODY) if agents else None,
        trend=book.trend(agents, month),
        funnel=counted.funnel(),
    )


CSV_HEADER = (
    "month",
    "agent_id",
    *(f"actual_{n}" for n in TARGETS),
    *(f"goal_{n}" for n in TARGETS),
    "goal_status",
    "referral_leads",
    "referral_deals",
    "referral_share",
)


def _csv_row(
    month: str, agent: str, actual: Figures, goal: Figures | None, status: str | None, refs: Referrals | None
) -> list[object]:
    return [
        month,
        agent,
        *(getattr(actual, n) for n in TARGETS),
        *((getattr(goal, n) for n in TARGETS) if goal else [""] * len(TARGETS)),
        status,
        refs.leads if refs else "",
        refs.closed_deals if refs else "",
        refs.share_of_business if refs and refs.share_of_business is not None else "",
    ]


def scorecard_csv(card: Scorecard) -> bytes:
    """One row per month of the trend (the asked month last, with its referrals)."""
    rows = [
        _csv_row(
            m.month,
            str(card.agent_id),
            m.actual,
            m.goal,
            m.goal_status,
            card.referrals if m.month == card.month else None,
        )
        for m in card.trend
    ]
    return csv.document(CSV_HEADER, rows)


def team_csv(card: TeamScorecard) -> bytes:
    """One row per agent for the month, then the total (agent `total`)."""
    rows = [
        _csv_row(card.month, str(r.agent_id), r.actual, r.goal, r.goal_status, r.referrals)
        for r in card.agents
    ]
    if card.total is not None:
        t = card.total
        rows.append(_csv_row(card.month, "total", t.actual, t.goal, t.goal_status, t.referrals))
    return csv.document(CSV_HEADER, rows)


__all__ = [
    "Book",
    "agent_scorecard",
    "parse_month",
    "scorecard_csv",
    "team_csv",
    "team_scorecard",
]
