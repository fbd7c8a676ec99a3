"""The manual's plan checks as pure rules (no database): each finding's code and severity."""

from __future__ import annotations

import uuid
from decimal import Decimal

from services.policies.proposals import rules
from services.policies.proposals.schemas import Severity

ADULT = rules.Insured(key=None, name="张伟", age=40, is_child=False, is_breadwinner=True)
CHILD = rules.Insured(key=uuid.uuid4(), name="张小宝", age=6, is_child=True, is_breadwinner=False)
ALL_WALLS = ("critical_illness", "accident", "medical", "death")


def _item(
    insured: rules.Insured,
    *,
    kind: str = "protection",
    walls: tuple[str, ...] = ("critical_illness",),
    premium: str = "5000",
    ages: tuple[int, int] = (0, 60),
) -> rules.PlannedItem:
    return rules.PlannedItem(
        item_id=uuid.uuid4(),
        insured=insured,
        product_name="产品",
        kind=kind,
        walls=walls,
        min_age=ages[0],
        max_age=ages[1],
        annual_premium=Decimal(premium),
    )


def _check(
    *items: rules.PlannedItem,
    income: str | None = "200000",
    existing: dict[uuid.UUID | None, set[str]] | None = None,
) -> list[str]:
    findings = rules.check_plan(
        items=items,
        breadwinners=[ADULT],
        existing=existing or {},
        household_income=Decimal(income) if income else None,
        threshold=Decimal("0.10"),
    )
    return [f.code for f in findings]


class TestProtectionBeforeWealth:
    def test_wealth_with_uncovered_breadwinner_walls(self) -> None:
        assert _check(_item(ADULT, kind="wealth", walls=())) == ["protection_before_wealth"]

    def test_existing_policies_count_as_cover(self) -> None:
        existing: dict[uuid.UUID | None, set[str]] = {None: set(ALL_WALLS)}
        assert _check(_item(ADULT, kind="wealth", walls=()), existing=existing) == []

    def test_protection_in_the_same_plan_counts(self) -> None:
        assert _check(_item(ADULT, walls=ALL_WALLS), _item(ADULT, kind="wealth", walls=())) == []


class TestAdultsBeforeChildren:
    def test_child_covered_while_breadwinner_is_not(self) -> None:
        assert _check(_item(CHILD)) == ["adults_before_children"]

    def test_child_after_the_breadwinner(self) -> None:
        assert _check(_item(ADULT), _item(CHILD)) == []


class TestAgeLimits:
    def test_outside_is_blocking(self) -> None:
        findings = rules.age_findings([_item(ADULT, ages=(0, 35))])
        assert [(f.code, f.severity) for f in findings] == [("outside_age_limits", Severity.BLOCKING)]

    def test_limits_are_inclusive(self) -> None:
        assert rules.age_findings([_item(ADULT, ages=(40, 40))]) == []

    def test_unknown_age_is_a_warning(self) -> None:
        unknown = rules.Insured(key=None, name="无生日", age=None, is_child=False, is_breadwinner=True)
        [finding] = rules.age_findings([_item(unknown)])
        assert (finding.code, finding.severity) == ("insured_age_unknown", Severity.WARNING)


class TestAffordability:
    def test_exactly_ten_percent_is_affordable(self) -> None:
        assert _check(_item(ADULT, premium="20000")) == []

    def test_above_ten_percent_is_flagged(self) -> None:
        assert _check(_item(ADULT, premium="20000.01")) == ["premium_affordability"]

    def test_unknown_income_is_information(self) -> None:
        assert _check(_item(ADULT), income=None) == ["income_unknown"]
