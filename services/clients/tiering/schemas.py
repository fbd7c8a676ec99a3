"""Tiering (manual 一.2): three scores with their evidence, the computed tier, overrides, history."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from services.clients.schemas import Tier
from services.clients.text import Note, Reason

Score = Annotated[StrictInt, Field(ge=1, le=5, description="1 (lowest) to 5 (highest).")]


class LifeEvent(StrEnum):
    """Recent events the manual names as raising need intensity."""

    RELATIVE_CRITICAL_ILLNESS = "relative_critical_illness"
    NEWBORN = "newborn"
    NEW_MORTGAGE = "new_mortgage"


class TierScores(BaseModel):
    """The agent's assessment: all three scores, with the evidence behind them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "need_score": 4,
                    "capacity_score": 3,
                    "decision_score": 5,
                    "life_events": ["newborn"],
                    "need_evidence": "二胎刚出生 房贷在身",
                }
            ]
        },
    )

    need_score: Score = Field(description="需求强度: how pressing the need is.")
    capacity_score: Score = Field(description="经济能力: how well the household can afford premiums.")
    decision_score: Score = Field(description="决策力: how far this client decides the household's cover.")
    life_events: list[LifeEvent] = Field(default_factory=list, max_length=3)
    need_evidence: Note | None = Field(default=None, description="E.g. a newborn in March, new mortgage.")
    capacity_evidence: Note | None = Field(default=None, description="Occupation, spending structure.")
    decision_evidence: Note | None = Field(default=None, description="Who decides the household's finances.")

    @field_validator("life_events")
    @classmethod
    def _distinct(cls, value: list[LifeEvent]) -> list[LifeEvent]:
        if len(set(value)) != len(value):
            raise ValueError("each life event at most once")
        return value


class TierOverride(BaseModel):
    """The agent's own tier, with the reason (kept in the history)."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
    reason: Reason


class TierRuleRead(BaseModel):
    tier: Tier
    min_need: int
    min_capacity: int
    min_decision: int
    meaning: str


class TieringRead(BaseModel):
    client_id: uuid.UUID
    need_score: int | None
    capacity_score: int | None
    decision_score: int | None
    life_events: list[LifeEvent]
    need_evidence: str | None
    capacity_evidence: str | None
    decision_evidence: str | None
    computed_tier: Tier | None = Field(description="From the scores by the first matching rule.")
    computed_because: str | None = Field(description="The rule that matched, in words.")
    override_tier: Tier | None
    override_reason: str | None
    tier: Tier | None = Field(description="Effective tier: the override when there is one, else computed.")
    version: int = Field(description="0 until first assessed; send it as If-Match.")
    updated_at: datetime | None


class TierSource(StrEnum):
    SCORES = "scores"
    OVERRIDE = "override"
    OVERRIDE_CLEARED = "override_cleared"


class TierChangeRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    from_tier: Tier | None
    to_tier: Tier | None
    computed_tier: Tier | None
    source: TierSource
    reason: str | None
    scores: dict[str, Any]
    changed_by: str
    changed_at: datetime
