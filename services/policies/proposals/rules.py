"""The manual's checks on a plan (三.1): pure functions from the plan and the household to findings.

- protection before wealth (先保障后理财): a wealth product while a breadwinner has a wall left
  uncovered, counting this plan's protection items and the household's live policies;
- adults before children (先大人后小孩): a child covered while a breadwinner has no protection;
- product age limits: the insured's age last birthday outside the product's range (blocking);
- premium affordability: the plan's total annual premium above a share of household income
  (``POLICIES_AFFORDABILITY_THRESHOLD``, default 10%).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.policies.proposals.schemas import Finding, Severity
from services.policies.terms import WALLS, Kind

InsuredKey = uuid.UUID | None
"""A household member's id, or ``None`` for the client (the household's reference person)."""


@dataclass(frozen=True, slots=True)
class Insured:
    key: InsuredKey
    name: str
    age: int | None
    is_child: bool
    is_breadwinner: bool


@dataclass(frozen=True, slots=True)
class PlannedItem:
    item_id: uuid.UUID
    insured: Insured
    product_name: str
    kind: str
    walls: tuple[str, ...]
    min_age: int
    max_age: int
    annual_premium: Decimal


def _walls_covered(
    items: Sequence[PlannedItem], existing: Mapping[InsuredKey, set[str]]
) -> dict[InsuredKey, set[str]]:
    covered: dict[InsuredKey, set[str]] = {key: set(walls) for key, walls in existing.items()}
    for item in items:
        if item.kind == Kind.PROTECTION:
            covered.setdefault(item.insured.key, set()).update(item.walls)
    return covered


def age_findings(items: Sequence[PlannedItem]) -> list[Finding]:
    findings: list[Finding] = []
    for item in items:
        age = item.insured.age
        if age is None:
            findings.append(
                Finding(
                    code="insured_age_unknown",
                    severity=Severity.WARNING,
                    message=f"{item.insured.name}'s birth date is not recorded; "
                    f"the age limits of {item.product_name} cannot be checked",
                    item_id=item.item_id,
                )
            )
        elif not item.min_age <= age <= item.max_age:
            findings.append(
                Finding(
                    code="outside_age_limits",
                    severity=Severity.BLOCKING,
                    message=f"{item.insured.name} is {age}; {item.product_name} insures ages "
                    f"{item.min_age} to {item.max_age}",
                    item_id=item.item_id,
                )
            )
    return findings


def ordering_findings(
    items: Sequence[PlannedItem], breadwinners: Sequence[Insured], existing: Mapping[InsuredKey, set[str]]
) -> list[Finding]:
    """先保障后理财, 先大人后小孩."""
    covered = _walls_covered(items, existing)
    findings: list[Finding] = []
    gaps = {
        b.name: [w.value for w in WALLS if w.value not in covered.get(b.key, set())] for b in breadwinners
    }
    open_gaps = {name: walls for name, walls in gaps.items() if walls}
    for item in items:
        if item.kind == Kind.WEALTH and open_gaps:
            shown = "; ".join(f"{name}: {', '.join(walls)}" for name, walls in open_gaps.items())
            findings.append(
                Finding(
                    code="protection_before_wealth",
                    severity=Severity.WARNING,
                    message=f"{item.product_name} is a wealth product while walls of the household's "
                    f"breadwinner are uncovered ({shown}); protection comes first",
                    item_id=item.item_id,
                )
            )
    unprotected = [b.name for b in breadwinners if not covered.get(b.key)]
    for item in items:
        if item.insured.is_child and unprotected:
            findings.append(
                Finding(
                    code="adults_before_children",
                    severity=Severity.WARNING,
                    message=f"{item.insured.name} (a child) is covered while the breadwinner "
                    f"{', '.join(unprotected)} has no protection; cover the adults first",
                    item_id=item.item_id,
                )
            )
    return findings


def affordability_findings(
    total_premium: Decimal, household_income: Decimal | None, threshold: Decimal
) -> list[Finding]:
    if household_income is None or household_income <= 0:
        return [
            Finding(
                code="income_unknown",
                severity=Severity.INFO,
                message="household income is not recorded; premium affordability cannot be checked",
            )
        ]
    ratio = total_premium / household_income
    if ratio <= threshold:
        return []
    return [
        Finding(
            code="premium_affordability",
            severity=Severity.WARNING,
            message=f"total annual premium {total_premium} is {ratio:.1%} of household income "
            f"{household_income}, above the {threshold:.0%} guideline",
        )
    ]


def check_plan(
    *,
    items: Sequence[PlannedItem],
    breadwinners: Sequence[Insured],
    existing: Mapping[InsuredKey, set[str]],
    household_income: Decimal | None,
    threshold: Decimal,
) -> list[Finding]:
    """Every finding of the manual's checks for one revision of a plan."""
    total = sum((item.annual_premium for item in items), Decimal(0))
    return [
        *age_findings(items),
        *ordering_findings(items, breadwinners, existing),
        *affordability_findings(total, household_income, threshold),
    ]
