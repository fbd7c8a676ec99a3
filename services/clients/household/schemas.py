"""The client's household: family members (家庭结构, 决策力) and household finances."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from crmkit.clock import IsoDate
from crmkit.money import MoneyOrZero
from services.clients.schemas import ClientName, Gender
from services.clients.text import Note


class Relationship(StrEnum):
    """How a family member is related to the client."""

    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    OTHER = "other"


class FamilyMemberCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "relationship": "child",
                    "name": "张小明",
                    "gender": "male",
                    "birth_date": "2019-05-01",
                    "is_dependent": True,
                }
            ]
        },
    )

    relationship: Relationship
    name: ClientName
    gender: Gender = Gender.UNDISCLOSED
    birth_date: IsoDate | None = Field(default=None, description="Never after today.")
    is_dependent: StrictBool = Field(default=False, description="Relies on the household's income.")
    is_decision_maker: StrictBool = Field(
        default=False, description="The household's financial decision-maker (决策力); one per household."
    )
    is_breadwinner: StrictBool = Field(default=False, description="Earns the household's living (家庭支柱).")
    annual_income: MoneyOrZero | None = None
    member_client_id: uuid.UUID | None = Field(
        default=None, description="When this family member is a client too: a client you can see."
    )
    notes: Note | None = None


_REQUIRED = ("relationship", "name", "gender", "is_dependent", "is_decision_maker", "is_breadwinner")


class FamilyMemberUpdate(BaseModel):
    """A partial change; an explicit null clears a nullable field."""

    model_config = ConfigDict(extra="forbid")

    relationship: Relationship | None = None
    name: ClientName | None = None
    gender: Gender | None = None
    birth_date: IsoDate | None = None
    is_dependent: StrictBool | None = None
    is_decision_maker: StrictBool | None = None
    is_breadwinner: StrictBool | None = None
    annual_income: MoneyOrZero | None = None
    member_client_id: uuid.UUID | None = None
    notes: Note | None = None

    @field_validator(*_REQUIRED)
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class FamilyMemberRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    relationship: Relationship
    name: str
    gender: Gender
    birth_date: IsoDate | None
    age: int | None = Field(description="Whole years today, in the business time zone.")
    is_dependent: bool
    is_decision_maker: bool
    is_breadwinner: bool
    annual_income: MoneyOrZero | None
    member_client_id: uuid.UUID | None = Field(description="When this family member is a client too.")
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class HouseholdFinances(BaseModel):
    """Household income, liabilities and spending; what is left out is unknown (null)."""

    model_config = ConfigDict(extra="forbid")

    annual_income: MoneyOrZero | None = Field(default=None, description="The whole household's, per year.")
    mortgage_balance: MoneyOrZero | None = None
    mortgage_monthly_payment: MoneyOrZero | None = None
    other_liabilities: MoneyOrZero | None = Field(default=None, description="Car loans, consumer credit, ...")
    monthly_expenses: MoneyOrZero | None = Field(
        default=None, description="Day-to-day living costs per month."
    )
    annual_education_spending: MoneyOrZero | None = None
    annual_elder_care_spending: MoneyOrZero | None = None
    client_is_breadwinner: StrictBool = Field(
        default=True, description="The client earns the household's living (家庭支柱); members may too."
    )


class IncomeRecord(BaseModel):
    annual_income: MoneyOrZero
    recorded_at: datetime


class HouseholdRead(HouseholdFinances):
    client_id: uuid.UUID
    total_liabilities: MoneyOrZero | None = Field(description="Mortgage balance plus other liabilities.")
    annual_spending: MoneyOrZero | None = Field(
        description="Monthly expenses * 12 plus education and elder-care spending (known parts)."
    )
    mortgage_share_of_income: Decimal | None = Field(
        description="Yearly mortgage payments / annual income (0.35 = 35 %), for economic capacity."
    )
    decision_maker: str = Field(
        description="`client`, `family_member` (see `members`) or `unknown` when nobody is marked."
    )
    members: list[FamilyMemberRead] = Field(description="The others: the client is the reference person.")
    income_history: list[IncomeRecord] = Field(description="Household income as recorded, newest first.")
    version: int = Field(description="0 until the finances are first saved; send it as If-Match.")
    updated_at: datetime | None
