"""Webhooks API, served by the gateway itself: subscriptions, their delivery log, replay."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.db import SessionDep
from crmkit.idempotency import MINTS_CREDENTIALS
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from gateway.webhooks import service
from gateway.webhooks.dependencies import (
    ChangedSubscription,
    DeliveryId,
    SettingsDep,
    ValidSubscription,
    WebhookAdminDep,
)
from gateway.webhooks.schemas import (
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)

BASE = "/api/v1/webhooks"
router = APIRouter(prefix=BASE, tags=["webhooks"], responses=PROBLEM_RESPONSES)


def _answer(subscription: SubscriptionRead, response: Response) -> None:
    set_etag(response, subscription.version)


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED, **MINTS_CREDENTIALS)
async def create_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: WebhookAdminDep,
    response: Response,
) -> SubscriptionCreated:
    """Register a URL for event types; the signing secret is answered this once."""
    subscription, secret = await service.create_subscription(
        session=session, settings=settings, principal=principal, data=body
    )
    created = SubscriptionCreated.model_validate(
        {**SubscriptionRead.model_validate(subscription).model_dump(), "secret": secret}
    )
    response.headers["Location"] = f"/api/v1/webhooks/subscriptions/{subscription.id}"
    _answer(created, response)
    return created


@router.get("/subscriptions")
async def list_subscriptions(
    session: SessionDep,
    principal: WebhookAdminDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[SubscriptionRead]:
    """Subscriptions, newest first (never their secrets)."""
    rows, next_cursor = await service.list_subscriptions(session=session, limit=limit, cursor=cursor)
    return Page(items=[SubscriptionRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/subscriptions/{subscription_id:uuid}")
async def get_subscription(subscription: ValidSubscription, response: Response) -> SubscriptionRead:
    """One subscription, with its ETag."""
    read = SubscriptionRead.model_validate(subscription)
    _answer(read, response)
    return read


@router.patch("/subscriptions/{subscription_id:uuid}")
async def update_subscription(
    body: SubscriptionUpdate,
    subscription: ChangedSubscription,
    session: SessionDep,
    settings: SettingsDep,
    principal: WebhookAdminDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> SubscriptionRead:
    """Change URL, event types, description or pause it (`is_active`); needs If-Match."""
    check_if_match(if_match, subscription.version)
    changed = await service.update_subscription(
        session=session, settings=settings, principal=principal, subscription=subscription, changes=body
    )
    read = SubscriptionRead.model_validate(changed)
    _answer(read, response)
    return read


@router.delete("/subscriptions/{subscription_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription: ChangedSubscription,
    session: SessionDep,
    principal: WebhookAdminDep,
    if_match: IfMatchHeader = None,
) -> None:
    """Remove a subscription and its delivery log; needs If-Match."""
    check_if_match(if_match, subscription.version)
    await service.delete_subscription(session=session, principal=principal, subscription=subscription)


@router.get("/subscriptions/{subscription_id:uuid}/deliveries")
async def list_deliveries(
    subscription: ValidSubscription,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[DeliveryRead]:
    """The delivery log: status, attempts, response code, latency, next attempt, last error."""
    rows, next_cursor = await service.list_deliveries(
        session=session, subscription_id=subscription.id, limit=limit, cursor=cursor
    )
    return Page(items=[DeliveryRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id:uuid}/replay", status_code=status.HTTP_202_ACCEPTED)
async def replay_delivery(
    delivery_id: DeliveryId, session: SessionDep, principal: WebhookAdminDep, response: Response
) -> DeliveryRead:
    """Send a delivery again (same event id and body) at the dispatcher's next pass; ``Location``
    is the subscription's delivery log, where the new attempt shows."""
    delivery = await service.replay_delivery(session=session, principal=principal, delivery_id=delivery_id)
    response.headers["Location"] = f"{BASE}/subscriptions/{delivery.subscription_id}/deliveries"
    return DeliveryRead.model_validate(delivery)
