"""Needs analysis (manual 二): existing cover, the four walls, wealth goals, and the gaps."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from crmkit.money import MoneyOrZero
from services.clients.text import Note, ShortText


class Wall(StrEnum):
    """家庭财务四堵墙: the four walls of a household's finances."""

    CRITICAL_ILLNESS = "critical_illness"
    ACCIDENT = "accident"
    MEDICAL = "medical"
    DEATH = "death"


class PolicyCategory(StrEnum):
    CRITICAL_ILLNESS = "critical_illness"
    MILLION_MEDICAL = "million_medical"
    SMALL_MEDICAL = "small_medical"
    TERM_LIFE = "term_life"
    WHOLE_LIFE = "whole_life"
    ACCIDENT = "accident"
    EDUCATION_ANNUITY = "education_annuity"
    PENSION_ANNUITY = "pension_annuity"
    OTHER = "other"


class SocialInsurance(BaseModel):
    """社保: which kinds of social insurance the client has."""

    model_config = ConfigDict(extra="forbid")

    pension: StrictBool = False
    medical: StrictBool = False
    work_injury: StrictBool = False
    unemployment: StrictBool = False
    maternity: StrictBool = False


class ExistingPolicy(BaseModel):
    """An older policy (旧保单), bought before or elsewhere."""

    model_config = ConfigDict(extra="forbid")

    insurer: ShortText
    category: PolicyCategory
    sum_insured: MoneyOrZero
    annual_premium: MoneyOrZero | None = None
    notes: Note | None = None


class WallTargets(BaseModel):
    """The agent's targets per wall; a wall left null gets the documented default."""

    model_config = ConfigDict(extra="forbid")

    critical_illness: MoneyOrZero | None = None
    accident: MoneyOrZero | None = None
    medical: MoneyOrZero | None = None
    death: MoneyOrZero | None = None


class EducationGoal(BaseModel):
    """教育金 for a child of the household."""

    model_config = ConfigDict(extra="forbid")

    family_member_id: uuid.UUID = Field(
        description="A family member of this client whose relationship is child."
    )
    target_year: StrictInt | None = Field(
        default=None,
        ge=1900,
        le=2200,
        description="Defaults to the year the child turns 18; never in the past.",
    )
    amount: MoneyOrZero


class PensionGoal(BaseModel):
    """养老金: from what age, how much a month."""

    model_config = ConfigDict(extra="forbid")

    start_age: Annotated[StrictInt, Field(ge=40, le=80)]
    monthly_amount: MoneyOrZero


class NeedsAssessmentWrite(BaseModel):
    """The whole needs assessment (replaced as one document)."""

    model_config = ConfigDict(extra="forbid")

    client_annual_income: MoneyOrZero | None = Field(
        default=None, description="The client's own income per year (the household's is on the household)."
    )
    family_structure_note: Note | None = None
    occupational_risk_note: Note | None = Field(
        default=None, description="E.g. works at height, travels weekly."
    )
    social_insurance: SocialInsurance = Field(default_factory=SocialInsurance)
    existing_policies: list[ExistingPolicy] = Field(default_factory=list, max_length=50)
    targets: WallTargets = Field(default_factory=WallTargets)
    education_goals: list[EducationGoal] = Field(default_factory=list, max_length=10)
    pension_goal: PensionGoal | None = None


class FamilyStructure(BaseModel):
    """Counted from the family members on file."""

    members: int
    spouse: StrictBool
    children: int
    parents: int
    dependents: int
    children_ages: list[int | None]


class OccupationalRisk(BaseModel):
    occupation: str | None
    occupation_class: int | None
    level: str = Field(description="`low` (class 1-2), `medium` (3-4), `high` (5-6) or `unknown`.")
    note: str | None


class EducationGoalRead(BaseModel):
    family_member_id: uuid.UUID
    child_name: str
    target_year: int
    amount: MoneyOrZero


class NeedsAssessmentRead(BaseModel):
    client_id: uuid.UUID
    client_annual_income: MoneyOrZero | None
    family_structure: FamilyStructure
    family_structure_note: str | None
    occupational_risk: OccupationalRisk
    social_insurance: SocialInsurance
    existing_policies: list[ExistingPolicy]
    targets: WallTargets
    education_goals: list[EducationGoalRead]
    pension_goal: PensionGoal | None
    version: int = Field(description="0 until first saved; send it as If-Match.")
    updated_at: datetime | None


class WallGap(BaseModel):
    wall: Wall
    target: MoneyOrZero | None = Field(
        description="Null when neither the agent nor the default rule can tell."
    )
    target_basis: str = Field(description="`agent`, the default rule applied, or what is missing for it.")
    existing: MoneyOrZero = Field(description="Sum insured of the existing policies that cover this wall.")
    gap: MoneyOrZero | None = Field(description="Target minus existing, never negative.")


class CoverageGaps(BaseModel):
    client_id: uuid.UUID
    walls: list[WallGap]
    total_gap: MoneyOrZero = Field(description="Sum of the known gaps.")
