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
    DisclosureItem,
    DisclosureText,
    InsurerName,
    Kind,
    NonGuaranteedBasis,
    PaymentYears,
    PremiumMode,
    Rate,
    RateRead,
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
Texts = Annotated[list[DisclosureText], Field(max_length=30)]


def _distinct_texts(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("texts must not repeat")
    return values


def disclosure_problem(
    basis: NonGuaranteedBasis | None, non_guaranteed: list[str], max_rate: object | None
) -> str | None:
    """The disclosure rules of one product, whether created or changed (None: consistent)."""
    if basis is None and non_guaranteed:
        return "non_guaranteed_benefits need a non_guaranteed_basis (participating, universal, ...)"
    if basis is not None and not non_guaranteed:
        return "a product with a non_guaranteed_basis names its non_guaranteed_benefits"
    if max_rate is not None and basis is None:
        return "max_illustrated_rate applies to non-guaranteed returns only: give a non_guaranteed_basis"
    return None


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
    exclusions: Texts = Field(default_factory=list, description="Key exclusions (责任免除), each a text.")
    guaranteed_benefits: Texts = Field(default_factory=list, description="Benefits the contract guarantees.")
    non_guaranteed_basis: NonGuaranteedBasis | None = Field(
        default=None, description="Why some benefits are not guaranteed (分红/万能/投连); null: none are."
    )
    non_guaranteed_benefits: Texts = Field(
        default_factory=list, description="Benefits that depend on the insurer's results, not guaranteed."
    )
    max_illustrated_rate: Rate | None = Field(
        default=None,
        description="The highest return a proposal may illustrate; null: none may be illustrated.",
    )
    recording_required: StrictBool = Field(
        default=False, description="Every sale of this product is recorded (可回溯), whatever the client."
    )

    @field_validator("exclusions", "guaranteed_benefits", "non_guaranteed_benefits")
    @classmethod
    def _distinct_disclosures(cls, value: list[str]) -> list[str] | None:
        return _distinct_texts(value)

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
        problem = disclosure_problem(
            self.non_guaranteed_basis, self.non_guaranteed_benefits, self.max_illustrated_rate
        )
        if problem:
            raise ValueError(problem)
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
    exclusions: Texts | None = None
    guaranteed_benefits: Texts | None = None
    non_guaranteed_basis: NonGuaranteedBasis | None = Field(
        default=None, description="null takes the basis away (then no non-guaranteed benefits may remain)."
    )
    non_guaranteed_benefits: Texts | None = None
    max_illustrated_rate: Rate | None = Field(default=None, description="null: no return may be illustrated.")
    recording_required: StrictBool | None = None

    @field_validator("exclusions", "guaranteed_benefits", "non_guaranteed_benefits", "recording_required")
    @classmethod
    def _disclosure_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        if isinstance(value, list):
            return _distinct_texts(value)
        return value

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
    exclusions: list[str]
    guaranteed_benefits: list[str]
    non_guaranteed_basis: NonGuaranteedBasis | None
    non_guaranteed_benefits: list[str]
    max_illustrated_rate: RateRead | None = Field(description="Percent a year.")
    recording_required: bool
    disclosure_version: int = Field(description="Raised whenever a disclosed term changes.")
    version: int
    created_at: datetime
    updated_at: datetime


class Disclosure(BaseModel):
    """What the agent must state about one product before a plan is accepted (manual 六), under
    its version: exclusions, the waiting period, what is and is not guaranteed."""

    product_id: uuid.UUID
    product_name: str
    disclosure_version: int
    exclusions: list[str]
    waiting_days: int
    guaranteed_benefits: list[str]
    non_guaranteed_basis: NonGuaranteedBasis | None
    non_guaranteed_benefits: list[str]
    max_illustrated_rate: RateRead | None
    recording_required: bool
    to_acknowledge: list[DisclosureItem] = Field(
        description="The items the client acknowledges before acceptance (each applicable one)."
    )


ProductPage = Page[ProductRead]
