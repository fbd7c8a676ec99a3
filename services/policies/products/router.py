"""HTTP endpoints of the product catalogue: admins write, every signed-in agent reads."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from crmkit.problems import PROBLEM_RESPONSES
from services.policies.dependencies import ChangedProduct, ReaderDep, SessionDep, ValidProduct, WriterDep
from services.policies.products import service
from services.policies.products.schemas import ProductCreate, ProductPage, ProductRead, ProductUpdate
from services.policies.terms import Category, Kind

BASE = "/api/v1/policies/products"

router = APIRouter(
    prefix=BASE,
    tags=["products"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)
ADMIN_ONLY = [require_roles(Role.ADMIN)]


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=ADMIN_ONLY)
async def create_product(
    data: ProductCreate, principal: WriterDep, session: SessionDep, response: Response
) -> ProductRead:
    """Add a product to the catalogue (admins only)."""
    product = await service.create_product(session=session, principal=principal, data=data)
    response.headers["Location"] = f"{BASE}/{product.id}"
    set_etag(response, product.version)
    return service.to_read(product)


@router.get("")
async def list_products(
    principal: ReaderDep,
    session: SessionDep,
    category: Category | None = None,
    kind: Kind | None = None,
    insurer: str | None = None,
    active: bool | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ProductPage:
    """The product catalogue, by insurer and name."""
    return await service.list_products(
        session=session,
        category=category.value if category else None,
        kind=kind.value if kind else None,
        insurer=insurer,
        active=active,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{product_id:uuid}")
async def get_product(product: ValidProduct, response: Response) -> ProductRead:
    """Read one product; the ETag is its version."""
    set_etag(response, product.version)
    return service.to_read(product)


@router.patch("/{product_id:uuid}", dependencies=ADMIN_ONLY)
async def update_product(
    product: ChangedProduct,
    patch: ProductUpdate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ProductRead:
    """Change a product, or take it off the shelf (admins only); requires If-Match."""
    check_if_match(if_match, product.version)
    product = await service.update_product(session=session, principal=principal, product=product, patch=patch)
    set_etag(response, product.version)
    return service.to_read(product)
