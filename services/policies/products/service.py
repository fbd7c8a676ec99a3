"""The product catalogue: admins manage it; flush, never commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.pagination import page_of, read_cursor
from services.policies import trail
from services.policies.errors import DuplicateProduct, InvalidField
from services.policies.models import Product
from services.policies.products.schemas import ProductCreate, ProductPage, ProductRead, ProductUpdate

RESOURCE = "product"


def to_read(product: Product) -> ProductRead:
    return ProductRead.model_validate(product, from_attributes=True)


def _view(product: Product) -> dict[str, Any]:
    return to_read(product).model_dump(mode="json")


async def _flush_unique(session: AsyncSession, insurer: str, name: str) -> None:
    """Insurer and name are passed as plain strings: a failed savepoint expires the ORM objects."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise DuplicateProduct(insurer, name) from exc


async def create_product(*, session: AsyncSession, principal: Principal, data: ProductCreate) -> Product:
    """A new catalogue entry, on the shelf."""
    now = utc_now()
    product = Product(
        insurer=data.insurer,
        name=data.name,
        category=data.category.value,
        kind=data.kind.value,
        min_insured_age=data.min_insured_age,
        max_insured_age=data.max_insured_age,
        payment_years=list(data.payment_years),
        cooling_off_days=data.cooling_off_days,
        walls=[w.value for w in data.walls],
        active=True,
        coverage_term=data.coverage_term.value,
        coverage_years=data.coverage_years,
        premium_mode=data.premium_mode.value,
        grace_days=data.grace_days,
        waiting_days=data.waiting_days,
        guaranteed_renewable=data.guaranteed_renewable,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    await _flush_unique(session, data.insurer, data.name)
    await trail.record(
        session,
        principal=principal,
        action="product.created",
        resource_type=RESOURCE,
        resource_id=product.id,
        after=_view(product),
    )
    return product


async def update_product(
    *, session: AsyncSession, principal: Principal, product: Product, patch: ProductUpdate
) -> Product:
    """Apply a partial change; nothing changed means no new version and no audit row."""
    given = patch.model_fields_set
    low = patch.min_insured_age if "min_insured_age" in given else product.min_insured_age
    high = patch.max_insured_age if "max_insured_age" in given else product.max_insured_age
    if low is not None and high is not None and low > high:
        raise InvalidField("min_insured_age", "cannot exceed max_insured_age")
    if patch.guaranteed_renewable and product.coverage_term != "one_year_renewable":
        raise InvalidField(
            "guaranteed_renewable", "only a one-year renewable product can be guaranteed renewable"
        )
    before = _view(product)
    for field in (
        "name",
        "min_insured_age",
        "max_insured_age",
        "cooling_off_days",
        "active",
        "grace_days",
        "waiting_days",
        "guaranteed_renewable",
    ):
        if field in given:
            setattr(product, field, getattr(patch, field))
    if "payment_years" in given and patch.payment_years is not None:
        product.payment_years = list(patch.payment_years)
    if "walls" in given and patch.walls is not None:
        product.walls = [w.value for w in patch.walls]
    after = _view(product)
    if after == before:
        return product
    product.version += 1
    product.updated_at = utc_now()
    insurer, name = product.insurer, product.name
    await _flush_unique(session, insurer, name)
    await trail.record(
        session,
        principal=principal,
        action="product.updated",
        resource_type=RESOURCE,
        resource_id=product.id,
        before=before,
        after=_view(product),
    )
    return product


async def list_products(
    *,
    session: AsyncSession,
    category: str | None,
    kind: str | None,
    insurer: str | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> ProductPage:
    """The catalogue ordered by insurer and name (a small table; the index serves the order)."""
    conditions = []
    if category is not None:
        conditions.append(col(Product.category) == category)
    if kind is not None:
        conditions.append(col(Product.kind) == kind)
    if insurer is not None:
        conditions.append(col(Product.insurer) == insurer)
    if active is not None:
        conditions.append(col(Product.active).is_(active))
    after = read_cursor(cursor, str, str, uuid.UUID)
    if after is not None:
        conditions.append(tuple_(col(Product.insurer), col(Product.name), col(Product.id)) > tuple_(*after))
    stmt = (
        select(Product)
        .where(*conditions)
        .order_by(col(Product.insurer), col(Product.name), col(Product.id))
        .limit(limit + 1)
    )
    rows = list((await session.execute(stmt)).scalars())
    return page_of(rows, limit, key=lambda p: (p.insurer, p.name, p.id), view=to_read)
