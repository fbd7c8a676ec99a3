"""Money on the wire: a decimal string in CNY (``"12345.67"``), never a JSON number.

A JSON number may already have lost cents as a float in the sender's code, so the API refuses
numbers outright, and documents the field as a string with a pattern, so generated clients and
contract fuzzers send what the API accepts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema


def _decimal_string(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError('send a decimal string, e.g. "12345.67", not a JSON number')
    return value.strip()


def decimal_string_schema(
    *, integer_digits: int, decimal_places: int, example: str, description: str
) -> WithJsonSchema:
    """The request-side JSON schema of a non-negative decimal string of the given size."""
    pattern = rf"^[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{decimal_places}}})?$"
    schema = {"type": "string", "pattern": pattern, "examples": [example], "description": description}
    return WithJsonSchema(schema, mode="validation")


DECIMAL_STRING = BeforeValidator(_decimal_string)
"""Put in an ``Annotated[Decimal, ...]`` before the ``Field`` constraints."""
MONEY_SCHEMA = decimal_string_schema(
    integer_digits=12, decimal_places=2, example="12345.67", description="CNY as a decimal string."
)


def _two_places(value: Decimal) -> str:
    return f"{value:.2f}"


TWO_PLACES = PlainSerializer(_two_places, return_type=str, when_used="json")
MONEY_OUT_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^[0-9]{1,12}\.[0-9]{2}$", "examples": ["12345.67"]},
    mode="serialization",
)
"""The response-side JSON schema: always two places, so generated clients read a plain string."""
"""Out: always two places (``"500000.00"``), whatever the sender wrote."""

Money = Annotated[
    Decimal,
    DECIMAL_STRING,
    MONEY_SCHEMA,
    Field(gt=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    TWO_PLACES,
    MONEY_OUT_SCHEMA,
]
"""A positive amount in CNY: a decimal string in (a JSON number is 422), a two-place string out."""

MoneyOrZero = Annotated[
    Decimal,
    DECIMAL_STRING,
    MONEY_SCHEMA,
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    TWO_PLACES,
    MONEY_OUT_SCHEMA,
]
"""The same, where zero is a real answer (no liabilities, no spending)."""

MoneyRead = Annotated[
    Decimal,
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$", "examples": ["12345.67"]}
    ),
]
"""An amount a response reads back from the database (``NUMERIC(14,2)``): documented as the decimal
string it is on the wire, so generated clients never see money as a bare string or a number."""
