"""Needs analysis: the assessment document and the coverage gaps on the four walls.

Default targets when the agent sets none (the agent's own target always wins):

- critical illness = 5 x the client's annual income. A critical illness stops income for the
  treatment and recovery, commonly put at 3-5 years; the manual wants the family pillar's cover
  filled first (二.2 "优先补足家庭支柱保额"), so we take the top of that range.
- accident = 10 x the client's annual income: the "double ten" rule of thumb (cover about ten
  years of income) used for income replacement after death or disability by accident.
- medical = 1,000,000: one million-medical policy (百万医疗, manual 三.1), which covers the large
  hospital bills that social medical insurance leaves.
- death = the household's liabilities (mortgage balance + other liabilities) + 10 x its annual
  spending (monthly expenses x 12 + education + elder care): debts cleared, and the household
  carried for ten years — the manual's question "积蓄能支撑家庭开支多久?".

Existing cover per wall = the sums insured of the older policies in that wall's categories
(critical illness; million and small medical; term and whole life; accident); annuities and
"other" cover no wall. Gap = max(0, target - existing). Policies sold through the policies service
are not counted here (that service owns them); the gateway's client overview puts both together.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Principal
from services.clients.errors import InvalidClientField
from services.clients.household.schemas import Relationship
from services.clients.household.service import age_on, annual_spending, total_liabilities
from services.clients.models import Client, FamilyMember, Household, NeedsAssessment
from services.clients.needs.schemas import (
    CoverageGaps,
    EducationGoal,
    EducationGoalRead,
    ExistingPolicy,
    FamilyStructure,
    NeedsAssessmentRead,
    NeedsAssessmentWrite,
    OccupationalRisk,
    PensionGoal,
    PolicyCategory,
    SocialInsurance,
    Wall,
    WallGap,
    WallTargets,
)
from services.clients.trail import diff, record_change

RESOURCE = "needs_assessment"
ADULT_AT = 18
CRITICAL_ILLNESS_YEARS_OF_INCOME = 5
ACCIDENT_YEARS_OF_INCOME = 10
DEATH_YEARS_OF_SPENDING = 10
MEDICAL_DEFAULT = Decimal("1000000.00")

WALL_OF_CATEGORY: dict[PolicyCategory, Wall] = {
    PolicyCategory.CRITICAL_ILLNESS: Wall.CRITICAL_ILLNESS,
    PolicyCategory.MILLION_MEDICAL: Wall.MEDICAL,
    PolicyCategory.SMALL_MEDICAL: Wall.MEDICAL,
    PolicyCategory.TERM_LIFE: Wall.DEATH,
    PolicyCategory.WHOLE_LIFE: Wall.DEATH,
    PolicyCategory.ACCIDENT: Wall.ACCIDENT,
}
TARGET_COLUMNS = {wall: f"target_{wall.value}" for wall in Wall}


def risk_level(occupation_class: int | None) -> str:
    if occupation_class is None:
        return "unknown"
    return "low" if occupation_class <= 2 else "medium" if occupation_class <= 4 else "high"


def family_structure(members: list[FamilyMember], today: date) -> FamilyStructure:
    children = [m for m in members if m.relationship == Relationship.CHILD]
    return FamilyStructure(
        members=len(members),
        spouse=any(m.relationship == Relationship.SPOUSE for m in members),
        children=len(children),
        parents=sum(m.relationship == Relationship.PARENT for m in members),
        dependents=sum(m.is_dependent for m in members),
        children_ages=[age_on(c.birth_date, today) for c in children],
    )


def _education_goals(row: NeedsAssessment | None, members: list[FamilyMember]) -> list[EducationGoalRead]:
    names = {m.id: m.name for m in members}
    goals = []
    for goal in row.education_goals if row else []:
        member_id = uuid.UUID(goal["family_member_id"])
        goals.append(
            EducationGoalRead(
                family_member_id=member_id,
                child_name=names.get(member_id, "(removed from the household)"),
                target_year=goal["target_year"],
                amount=Decimal(goal["amount"]),
            )
        )
    return goals


def to_read(
    *, client: Client, row: NeedsAssessment | None, members: list[FamilyMember], today: date
) -> NeedsAssessmentRead:
    return NeedsAssessmentRead(
        client_id=client.id,
        client_annual_income=row.client_annual_income if row else None,
        family_structure=family_structure(members, today),
        family_structure_note=row.family_structure_note if row else None,
        occupational_risk=OccupationalRisk(
            occupation=client.occupation,
            occupation_class=client.occupation_class,
            level=risk_level(client.occupation_class),
            note=row.occupational_risk_note if row else None,
        ),
        social_insurance=SocialInsurance.model_validate(row.social_insurance if row else {}),
        existing_policies=[ExistingPolicy.model_validate(p) for p in (row.existing_policies if row else [])],
        targets=WallTargets.model_validate(
            {wall.value: getattr(row, column) if row else None for wall, column in TARGET_COLUMNS.items()}
        ),
        education_goals=_education_goals(row, members),
        pension_goal=PensionGoal.model_validate(row.pension_goal) if row and row.pension_goal else None,
        version=row.version if row else 0,
        updated_at=row.updated_at if row else None,
    )


def _resolve_education_goals(
    goals: list[EducationGoal], members: list[FamilyMember], today: date
) -> list[dict[str, Any]]:
    """Each goal names a child of this household; the target year defaults to the 18th birthday's."""
    children = {m.id: m for m in members if m.relationship == Relationship.CHILD}
    resolved = []
    for index, goal in enumerate(goals):
        where = f"education_goals.{index}"
        child = children.get(goal.family_member_id)
        if child is None:
            raise InvalidClientField(f"{where}.family_member_id", "not a child in this client's household")
        year = goal.target_year
        if year is None:
            if child.birth_date is None:
                raise InvalidClientField(
                    f"{where}.target_year", "the child's birth date is unknown: give a target year"
                )
            year = child.birth_date.year + ADULT_AT
            if year < today.year:
                raise InvalidClientField(
                    f"{where}.target_year", "the child is past 18 already: give a target year"
                )
        elif year < today.year:
            raise InvalidClientField(f"{where}.target_year", "the target year is in the past")
        resolved.append(
            {"family_member_id": str(child.id), "target_year": year, "amount": f"{goal.amount:.2f}"}
        )
    return resolved


def _view(row: NeedsAssessment) -> dict[str, Any]:
    names = (
        "client_annual_income",
        "family_structure_note",
        "occupational_risk_note",
        "social_insurance",
        "existing_policies",
        *TARGET_COLUMNS.values(),
        "education_goals",
        "pension_goal",
    )
    return {n: f"{v:.2f}" if isinstance(v := getattr(row, n), Decimal) else v for n in names}


async def assessment_of(*, session: AsyncSession, client: Client) -> NeedsAssessment | None:
    return await session.get(NeedsAssessment, client.id)


async def save(
    *,
    session: AsyncSession,
    principal: Principal,
    client: Client,
    row: NeedsAssessment | None,
    data: NeedsAssessmentWrite,
    members: list[FamilyMember],
    today: date,
) -> NeedsAssessment:
    """Replace the needs assessment (created on first save)."""
    goals = _resolve_education_goals(data.education_goals, members, today)
    now = datetime.now(UTC)
    if row is None:
        row = NeedsAssessment(client_id=client.id, version=0, created_at=now, updated_at=now)
        session.add(row)
    before = _view(row) if row.version else {}
    row.client_annual_income = data.client_annual_income
    row.family_structure_note = data.family_structure_note
    row.occupational_risk_note = data.occupational_risk_note
    row.social_insurance = data.social_insurance.model_dump(mode="json")
    row.existing_policies = [p.model_dump(mode="json") for p in data.existing_policies]
    for wall, column in TARGET_COLUMNS.items():
        setattr(row, column, getattr(data.targets, wall.value))
    row.education_goals = goals
    row.pension_goal = data.pension_goal.model_dump(mode="json") if data.pension_goal else None
    old, new = diff(before, _view(row))
    if not new and row.version > 0:
        return row
    row.version += 1
    row.updated_at = now
    await session.flush()
    await record_change(
        session,
        principal,
        action="needs_assessment.saved",
        resource_type=RESOURCE,
        resource_id=client.id,
        before=old,
        after=new,
    )
    return row


def _default_target(
    wall: Wall, *, income: Decimal | None, household: Household | None
) -> tuple[Decimal | None, str]:
    if wall is Wall.MEDICAL:
        return MEDICAL_DEFAULT, "default: one million-medical policy (1,000,000)"
    if wall in (Wall.CRITICAL_ILLNESS, Wall.ACCIDENT):
        years = (
            CRITICAL_ILLNESS_YEARS_OF_INCOME if wall is Wall.CRITICAL_ILLNESS else ACCIDENT_YEARS_OF_INCOME
        )
        if income is None:
            return None, "missing: the client's annual income (needs assessment)"
        return income * years, f"default: {years} x the client's annual income"
    liabilities = total_liabilities(household)
    spending = annual_spending(household)
    if liabilities is None and spending is None:
        return None, "missing: the household's liabilities and spending (household)"
    target = (liabilities or Decimal(0)) + DEATH_YEARS_OF_SPENDING * (spending or Decimal(0))
    return target, f"default: liabilities + {DEATH_YEARS_OF_SPENDING} x the household's annual spending"


def coverage_gaps(
    *, client: Client, row: NeedsAssessment | None, household: Household | None
) -> CoverageGaps:
    """Target, existing cover and gap for each of the four walls."""
    existing = dict.fromkeys(Wall, Decimal(0))
    for policy in row.existing_policies if row else []:
        wall = WALL_OF_CATEGORY.get(PolicyCategory(policy["category"]))
        if wall is not None:
            existing[wall] += Decimal(policy["sum_insured"])
    walls = []
    for wall, column in TARGET_COLUMNS.items():
        target: Decimal | None = getattr(row, column) if row else None
        basis = "agent"
        if target is None:
            target, basis = _default_target(
                wall, income=row.client_annual_income if row else None, household=household
            )
        gap = max(Decimal(0), target - existing[wall]) if target is not None else None
        walls.append(WallGap(wall=wall, target=target, target_basis=basis, existing=existing[wall], gap=gap))
    return CoverageGaps(
        client_id=client.id,
        walls=walls,
        total_gap=sum((w.gap for w in walls if w.gap is not None), Decimal(0)),
    )
