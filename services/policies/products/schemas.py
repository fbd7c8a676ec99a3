"""Request and response shapes of the product catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from crmkit.pagination import Page
from services.policies.terms import Category, InsurerName, Kind, PaymentYears, ShortText, Wall

Age = Annotated[int, Field(strict=True, ge=0, le=100)]
CoolingOffDays = Annotated[int, Field(strict=True, ge=10, le=60, description="犹豫期, default 15 days.")]


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

    @field_validator("payment_years")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            raise ValueError("cannot be null")
        return _distinct_sorted(value)

    @field_validator("name", "min_insured_age", "max_insured_age", "cooling_off_days", "walls", "active")
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
    version: int
    created_at: datetime
    updated_at: datetime


ProductPage = Page[ProductRead]
