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
