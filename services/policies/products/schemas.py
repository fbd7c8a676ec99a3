"""Request and response shapes of the product catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from crmkit.pagination import Page
from services.policies.terms import (
    DEFAULT_GRACE_DAYS,
    Category,
    CoverageTerm,
    InsurerName,
    Kind,
    PaymentYears,
    PremiumMode,
    ShortText,
    Wall,
)

Age = Annotated[int, Field(strict=True, ge=0, le=100)]
CoolingOffDays = Annotated[int, Field(strict=True, ge=10, le=60, description="犹豫期, default 15 days.")]
GraceDays = Annotated[
    int,
    Field(strict=True, ge=30, le=366, description="宽限期: default 60 days (保险法 §36)."),
]
WaitingDays = Annotated[
    int, Field(strict=True, ge=0, le=366, description="等待期 in days (critical illness, medical).")
]
CoverageYears = Annotated[int, Field(strict=True, ge=1, le=120)]


def _distinct_sorted(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("payment periods must not repeat")
    return sorted(values)


class ProductCreate(BaseModel):
    """A product of the catalogue (admins only)."""

    model_config = ConfigDict(extra="forbid")

    insurer: InsurerName
    name: ShortText
    category: Category
    kind: Kind
    min_insured_age: Age
    max_insured_age: Age
    payment_years: list[PaymentYears] = Field(
        min_length=1, max_length=10, description="Allowed payment periods."
    )
    cooling_off_days: CoolingOffDays = 15
    walls: list[Wall] = Field(default_factory=list, max_length=4, description="The walls it covers.")
    coverage_term: CoverageTerm = CoverageTerm.WHOLE_LIFE
    coverage_years: CoverageYears | None = Field(
        default=None, description="N for `years` (N years), X for `to_age` (to the X-th birthday)."
    )
    premium_mode: PremiumMode = PremiumMode.ANNUAL
    grace_days: GraceDays = DEFAULT_GRACE_DAYS
    waiting_days: WaitingDays = 0
    guaranteed_renewable: StrictBool = False

    @field_validator("payment_years")
    @classmethod
    def _distinct_periods(cls, value: list[int]) -> list[int]:
        return _distinct_sorted(value)

    @field_validator("walls")
    @classmethod
    def _distinct_walls(cls, value: list[Wall]) -> list[Wall]:
        if len(set(value)) != len(value):
            raise ValueError("walls must not repeat")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_insured_age > self.max_insured_age:
            raise ValueError("min_insured_age cannot exceed max_insured_age")
        if self.kind is Kind.PROTECTION and not self.walls:
            raise ValueError("a protection product covers at least one wall")
        needs_years = self.coverage_term in (CoverageTerm.YEARS, CoverageTerm.TO_AGE)
        if needs_years != (self.coverage_years is not None):
            raise ValueError("coverage_years is given exactly when coverage_term is 'years' or 'to_age'")
        if self.premium_mode is PremiumMode.SINGLE and self.payment_years != [1]:
            raise ValueError("a single premium is paid once: payment_years must be [1]")
        if self.guaranteed_renewable and self.coverage_term is not CoverageTerm.ONE_YEAR_RENEWABLE:
            raise ValueError("only a one-year renewable product can be guaranteed renewable")
        return self


class ProductUpdate(BaseModel):
    """A partial change; ``active: false`` takes a product off the shelf without erasing history."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    min_insured_age: Age | None = None
    max_insured_age: Age | None = None
    payment_years: list[PaymentYears] | None = Field(default=None, min_length=1, max_length=10)
    cooling_off_days: CoolingOffDays | None = None
    walls: list[Wall] | None = Field(default=None, max_length=4)
    active: StrictBool | None = None
    grace_days: GraceDays | None = None
    waiting_days: WaitingDays | None = None
    guaranteed_renewable: StrictBool | None = None
    """The coverage term and premium mode are not changed: policies and their schedules follow them."""

    @field_validator("payment_years")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            raise ValueError("cannot be null")
        return _distinct_sorted(value)

    @field_validator(
        "name",
        "min_insured_age",
        "max_insured_age",
        "cooling_off_days",
        "walls",
        "active",
        "grace_days",
        "waiting_days",
        "guaranteed_renewable",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ProductRead(BaseModel):
    id: uuid.UUID
    insurer: str
    name: str
    category: Category
    kind: Kind
    min_insured_age: int
    max_insured_age: int
    payment_years: list[int]
    cooling_off_days: int
    walls: list[Wall]
    active: bool
    coverage_term: CoverageTerm
    coverage_years: int | None
    premium_mode: PremiumMode
    grace_days: int
    waiting_days: int
    guaranteed_renewable: bool
    version: int
    created_at: datetime
    updated_at: datetime


ProductPage = Page[ProductRead]
