"""Webhook subscriptions and their delivery log: register, change, remove, replay. Flush, never commit."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.audit import record
from crmkit.auth import Principal
from crmkit.crypto import FieldCipher
from crmkit.pagination import decode_cursor, encode_cursor
from gateway.config import Settings
from gateway.identity.models import infra_tables, utcnow
from gateway.webhooks.errors import DeliveryNotFound, SubscriptionNotFound
from gateway.webhooks.models import WebhookDelivery, WebhookSubscription
from gateway.webhooks.schemas import SubscriptionCreate, SubscriptionRead, SubscriptionUpdate
from gateway.webhooks.targets import check_target

SECRET_CONTEXT = "identity.webhook_subscriptions.secret"  # noqa: S105 (an encryption context)
RESOURCE = "webhook_subscription"


@lru_cache(maxsize=4)
def cipher_for(key: str) -> FieldCipher:
    return FieldCipher(key)


def secret_of(settings: Settings, subscription: WebhookSubscription) -> str:
    """The signing secret, decrypted for one signature."""
    return cipher_for(settings.field_encryption_key).decrypt(
        subscription.secret_cipher, context=SECRET_CONTEXT
    )


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    """The audit view: never the secret."""
    return SubscriptionRead.model_validate(subscription).model_dump(mode="json")


async def create_subscription(
    *, session: AsyncSession, settings: Settings, principal: Principal, data: SubscriptionCreate
) -> tuple[WebhookSubscription, str]:
    """Register a subscription; returns it with its secret (given, or generated here)."""
    await check_target(
        data.url, environment=settings.environment, allow_private=settings.webhook_allow_private_targets
    )
    secret = data.secret or f"whsec_{secrets.token_urlsafe(32)}"
    subscription = WebhookSubscription(
        url=data.url,
        event_types=data.event_types,
        description=data.description,
        secret_cipher=cipher_for(settings.field_encryption_key).encrypt(secret, context=SECRET_CONTEXT),
        is_active=data.is_active,
        created_by=principal.user_id,
    )
    session.add(subscription)
    await session.flush()
    await record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="webhook_subscription.created",
        resource_type=RESOURCE,
        resource_id=subscription.id,
        after=_snapshot(subscription),
    )
    return subscription, secret


async def get_subscription(
    *, session: AsyncSession, subscription_id: uuid.UUID, for_update: bool = False
) -> WebhookSubscription:
    stmt = select(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id)
    if for_update:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise SubscriptionNotFound("no such webhook subscription")
    return found


async def list_subscriptions(
    *, session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[WebhookSubscription], str | None]:
    """Newest first, one keyset page at a time."""
    stmt = select(WebhookSubscription)
    after = decode_cursor(cursor, arity=2)
    if after is not None:
        key = tuple_(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
        stmt = stmt.where(key < tuple_(_moment(after[0]), _uuid(after[1])))
    stmt = stmt.order_by(col(WebhookSubscription.created_at).desc(), col(WebhookSubscription.id).desc())
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return rows, encode_cursor([last.created_at.isoformat(), str(last.id)]) if more and last else None


async def update_subscription(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    subscription: WebhookSubscription,
    changes: SubscriptionUpdate,
) -> WebhookSubscription:
    """Change URL, event types, description or the active flag (the URL is checked again)."""
    before = _snapshot(subscription)
    fields = changes.model_dump(exclude_unset=True)
    if fields.get("url") is not None:
        await check_target(
            fields["url"],
            environment=settings.environment,
            allow_private=settings.webhook_allow_private_targets,
        )
    for name, value in fields.items():
        if value is not None or name == "description":
            setattr(subscription, name, value)
    subscription.version += 1
    subscription.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="webhook_subscription.updated",
        resource_type=RESOURCE,
        resource_id=subscription.id,
        before=before,
        after=_snapshot(subscription),
    )
    return subscription


async def delete_subscription(
    *, session: AsyncSession, principal: Principal, subscription: WebhookSubscription
) -> None:
    """Remove a subscription and its delivery log."""
    before = _snapshot(subscription)
    await session.delete(subscription)
    await session.flush()
    await record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="webhook_subscription.deleted",
        resource_type=RESOURCE,
        resource_id=subscription.id,
        before=before,
    )


async def list_deliveries(
    *, session: AsyncSession, subscription_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[WebhookDelivery], str | None]:
    """The subscription's delivery log, newest first."""
    stmt = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
    after = decode_cursor(cursor, arity=2)
    if after is not None:
        key = tuple_(col(WebhookDelivery.created_at), col(WebhookDelivery.id))
        stmt = stmt.where(key < tuple_(_moment(after[0]), _uuid(after[1])))
    stmt = stmt.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return rows, encode_cursor([last.created_at.isoformat(), str(last.id)]) if more and last else None


async def replay_delivery(
    *, session: AsyncSession, principal: Principal, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery again at the next dispatcher pass, whatever its status (same event id)."""
    stmt = select(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).with_for_update()
    delivery = (await session.execute(stmt)).scalar_one_or_none()
    if delivery is None:
        raise DeliveryNotFound("no such webhook delivery")
    before = {"status": delivery.status, "next_attempt_at": _iso(delivery.next_attempt_at)}
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    await session.flush()
    await record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="webhook_delivery.replayed",
        resource_type="webhook_delivery",
        resource_id=delivery.id,
        before=before,
        after={"status": delivery.status, "next_attempt_at": _iso(delivery.next_attempt_at)},
    )
    return delivery


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.min.replace(tzinfo=utcnow().tzinfo)


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.UUID(int=0)
