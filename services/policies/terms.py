"""The service's vocabulary: categories, walls, percentages as exact decimals, insurance ages and years.

Money is ``crmkit.money.Money`` / ``MoneyOrZero`` (a decimal string in, two places out)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from crmkit.money import DECIMAL_STRING, decimal_string_schema


class Category(StrEnum):
    CRITICAL_ILLNESS = "critical_illness"
    MILLION_MEDICAL = "million_medical"
    SMALL_MEDICAL = "small_medical"
    TERM_LIFE = "term_life"
    WHOLE_LIFE = "whole_life"
    ACCIDENT = "accident"
    EDUCATION_ANNUITY = "education_annuity"
    PENSION_ANNUITY = "pension_annuity"


class Kind(StrEnum):
    """保障型 / 理财型."""

    PROTECTION = "protection"
    WEALTH = "wealth"


class Wall(StrEnum):
    """The four walls of the household's finances (家庭财务四堵墙)."""

    CRITICAL_ILLNESS = "critical_illness"
    ACCIDENT = "accident"
    MEDICAL = "medical"
    DEATH = "death"


WALLS: tuple[Wall, ...] = tuple(Wall)


SHARE_SCHEMA = decimal_string_schema(
    integer_digits=3, decimal_places=2, example="50.00", description="Percent as a decimal string."
)

Share = Annotated[
    Decimal,
    DECIMAL_STRING,
    SHARE_SCHEMA,
    Field(
        gt=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        allow_inf_nan=False,
        description='Percent, e.g. "50.00".',
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
InsurerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
"""An insurer's name, as the products and policies columns hold it (100 characters)."""
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
PaymentYears = Annotated[
    int, Field(strict=True, ge=1, le=100, description="Years of premium payments (1 = single).")
]


def age_on(birth_date: date, on: date) -> int:
    """Age last birthday (周岁), as insurers count it."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def add_years(start: date, years: int) -> date:
    """Same day ``years`` later (a policy anniversary); 29 February falls on 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


class CoverageTerm(StrEnum):
    """How long a product covers (保险期间)."""

    YEARS = "years"
    """N years from the effective date (``coverage_years`` = N)."""
    TO_AGE = "to_age"
    """To the insured's X-th birthday (``coverage_years`` = X), e.g. 保至70岁."""
    WHOLE_LIFE = "whole_life"
    ONE_YEAR_RENEWABLE = "one_year_renewable"
    """One year, renewed term by term (百万医疗, 意外险...)."""


class PremiumMode(StrEnum):
    """How often premiums are paid (缴费方式)."""

    SINGLE = "single"
    ANNUAL = "annual"
    SEMI_ANNUAL = "semi_annual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"


INSTALMENTS_PER_YEAR: dict[PremiumMode, int] = {
    PremiumMode.SINGLE: 1,
    PremiumMode.ANNUAL: 1,
    PremiumMode.SEMI_ANNUAL: 2,
    PremiumMode.QUARTERLY: 4,
    PremiumMode.MONTHLY: 12,
}

DEFAULT_GRACE_DAYS = 60
"""保险法 §36: a premium unpaid 60 days after the agreed date suspends the contract (合同效力中止)."""
REINSTATEMENT_YEARS = 2
"""保险法 §37: reinstatement (复效) within two years of the lapse; after that the insurer may end it."""
RENEWAL_NOTICE_DAYS: tuple[int, ...] = (60, 30, 7)
"""Days before a one-year term ends when the renewal work list and ``policy.renewal_due`` speak."""


def add_months(start: date, months: int) -> date:
    """Same day ``months`` later; the 31st falls on the month's last day."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def cover_ends_on(
    *, term: CoverageTerm, years: int | None, effective_on: date, insured_birth_date: date
) -> date | None:
    """The first day not covered, or None for whole-life cover."""
    if term is CoverageTerm.YEARS:
        assert years is not None
        return add_years(effective_on, years)
    if term is CoverageTerm.TO_AGE:
        assert years is not None
        return add_years(insured_birth_date, years)
    if term is CoverageTerm.ONE_YEAR_RENEWABLE:
        return add_years(effective_on, 1)
    return None


def instalment_amount(mode: PremiumMode, annual_premium: Decimal) -> Decimal:
    """One regular instalment (the first of each year): the annual premium split evenly."""
    return (annual_premium / INSTALMENTS_PER_YEAR[mode]).quantize(Decimal("0.01"))


def premium_schedule(
    *,
    mode: PremiumMode,
    annual_premium: Decimal,
    payment_years: int,
    effective_on: date,
    ends_on: date | None,
) -> list[tuple[date, Decimal]]:
    """(due date, amount) of every instalment: ``payment_years`` years of ``mode`` instalments from
    the effective date, none on or after the end of cover; a single premium is one instalment.
    The annual premium is split evenly; the last instalment of each year takes the cents left over."""
    if mode is PremiumMode.SINGLE:
        return [(effective_on, annual_premium)]
    per_year = INSTALMENTS_PER_YEAR[mode]
    step = 12 // per_year
    share = instalment_amount(mode, annual_premium)
    last = annual_premium - share * (per_year - 1)
    schedule: list[tuple[date, Decimal]] = []
    for year in range(payment_years):
        for k in range(per_year):
            due_on = add_months(effective_on, 12 * year + step * k)
            if ends_on is not None and due_on >= ends_on:
                return schedule
            schedule.append((due_on, last if k == per_year - 1 else share))
    return schedule
