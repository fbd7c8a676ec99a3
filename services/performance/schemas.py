"""Request and response shapes of the performance service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from crmkit.clock import IsoDate
from crmkit.money import TWO_PLACES, MoneyOrZero, MoneyRead

Count = Annotated[StrictInt, Field(ge=0, le=100_000)]
"""A whole count: `false` or `"3"` is refused, not read as 0 or 3."""
Amount = Annotated[MoneyRead, TWO_PLACES]
"""An amount read back or summed, always written with two places."""
Year = Annotated[StrictInt, Field(ge=2000, le=2100)]
Month = Annotated[StrictInt, Field(ge=1, le=12)]


class GoalStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    ADJUSTED = "adjusted"


class Targets(BaseModel):
    """What a goal asks for; every figure zero or more."""

    model_config = ConfigDict(extra="forbid")

    effective_clients: Count = 0
    closed_deals: Count = 0
    first_year_premium: MoneyOrZero = Decimal("0.00")
    appointments: Count = 0
    visits: Count = 0
    calls: Count = 0


class GoalCreate(Targets):
    """A goal for a month, or for the whole year when `month` is left out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"year": 2026, "effective_clients": 36, "closed_deals": 24, "first_year_premium": "240000.00"}
            ]
        },
    )

    year: Year
    month: Month | None = Field(default=None, description="1-12; absent for a yearly goal.")
    agent_id: uuid.UUID | None = Field(
        default=None,
        description="Whose goal: yourself when absent; a team lead may set one for their agents.",
    )


class GoalUpdate(BaseModel):
    """Change the targets of a goal (the agent while proposed; the team lead adjusts it any time)."""

    model_config = ConfigDict(extra="forbid")

    effective_clients: Count | None = None
    closed_deals: Count | None = None
    first_year_premium: MoneyOrZero | None = None
    appointments: Count | None = None
    visits: Count | None = None
    calls: Count | None = None


class GoalApproval(GoalUpdate):
    """Approve the goal as it stands, or with the targets given here adjusted (status `adjusted`)."""


class GoalRead(BaseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    team_id: uuid.UUID | None
    year: int
    month: int | None = Field(description="Null for a yearly goal.")
    effective_clients: int
    closed_deals: int
    first_year_premium: Amount
    appointments: int
    visits: int
    calls: int
    status: GoalStatus
    set_by: uuid.UUID
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class GoalPage(BaseModel):
    items: list[GoalRead]


class MonthTargets(Targets):
    month: Month


class Breakdown(BaseModel):
    """Break a yearly goal into its twelve months. Without `months`, evenly (the manual's example:
    36 effective clients and 24 closed deals a year are 3 and 2 a month); with `months`, all twelve,
    adding up to the yearly goal figure by figure."""

    model_config = ConfigDict(extra="forbid")

    months: list[MonthTargets] | None = Field(default=None, min_length=12, max_length=12)

    @model_validator(mode="after")
    def _each_month_once(self) -> Breakdown:
        if self.months is not None and sorted(m.month for m in self.months) != list(range(1, 13)):
            raise ValueError("give each month 1-12 exactly once")
        return self


class Figures(BaseModel):
    effective_clients: int
    closed_deals: int
    first_year_premium: Amount
    appointments: int
    visits: int
    calls: int


class FunnelStage(BaseModel):
    stage: str
    count: int


class ChannelCount(BaseModel):
    channel: str
    count: int


class Referrals(BaseModel):
    leads: int = Field(description="Clients acquired by referral.")
    closed_deals: int
    first_year_premium: Amount
    share_of_business: float | None = Field(description="Referral premium / all first-year premium (0-1).")


class MonthFigures(BaseModel):
    month: str = Field(description="`YYYY-MM`.")
    actual: Figures
    goal: Figures | None
    goal_status: GoalStatus | None


class Scorecard(BaseModel):
    """One agent's month against their goal, the last 12 months, the funnel and referrals."""

    agent_id: uuid.UUID
    team_id: uuid.UUID | None
    month: str = Field(description="`YYYY-MM`.")
    actual: Figures
    goal: Figures | None
    goal_status: GoalStatus | None
    progress: dict[str, float | None] = Field(description="Actual / goal per figure (null without a goal).")
    trend: list[MonthFigures] = Field(description="The 12 months ending with `month`, oldest first.")
    funnel: list[FunnelStage]
    leads_by_channel: list[ChannelCount]
    referrals: Referrals


class AgentRow(BaseModel):
    agent_id: uuid.UUID
    actual: Figures
    goal: Figures | None
    goal_status: GoalStatus | None
    progress: dict[str, float | None]
    referrals: Referrals


class TeamScorecard(BaseModel):
    """Each agent of the team (or of every team, for an admin) and the total, for a month."""

    scope: str = Field(description="`team` or `all`.")
    team_id: uuid.UUID | None
    month: str
    agents: list[AgentRow]
    total: AgentRow | None = Field(description="The team's sum (agent_id is the nil UUID).")
    trend: list[MonthFigures] = Field(description="The team's total over the 12 months ending with `month`.")
    funnel: list[FunnelStage]


class NoteWrite(BaseModel):
    """The agent's progress note for a report period (总结经验教训)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-11-01",
                    "to": "2026-11-30",
                    "progress": "4 effective clients, 1 deal; the health talk brought two leads.",
                    "lessons_learned": "Book the follow-up visit at the event itself.",
                }
            ]
        },
        populate_by_name=True,
    )

    from_date: IsoDate = Field(alias="from")
    to_date: IsoDate = Field(alias="to")
    progress: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    lessons_learned: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None

    @model_validator(mode="after")
    def _in_order(self) -> NoteWrite:
        if self.from_date > self.to_date:
            raise ValueError("`from` must not be after `to`")
        return self


class NoteRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    agent_id: uuid.UUID
    team_id: uuid.UUID | None
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    progress: str
    lessons_learned: str | None
    version: int
    updated_at: datetime


class ReportRow(BaseModel):
    agent_id: uuid.UUID
    actual: Figures
    goal: Figures | None
    progress_note: NoteRead | None


class PerformanceReport(BaseModel):
    """The per-agent rows of the business report (procedure 三.11) for a period: the months it
    touches, against the monthly goals, with each agent's progress note for exactly that period."""

    model_config = ConfigDict(populate_by_name=True)

    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    months: list[str]
    agents: list[ReportRow]
