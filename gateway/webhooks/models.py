"""Tables of the webhooks, in the identity schema: subscriptions, deliveries, feed cursors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field

from gateway.identity.models import IdentityTable, utcnow


def _timestamp(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class WebhookSubscription(IdentityTable, table=True):
    """Where to send which events; the signing secret is kept encrypted (AES-GCM)."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint("cardinality(event_types) > 0", name="some_types"),
        Index("ix_webhook_subscriptions_recent", text("created_at DESC"), text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(sa_column=Column(String(2048), nullable=False))
    event_types: list[str] = Field(sa_column=Column(ARRAY(String(80)), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    secret_cipher: bytes
    is_active: bool = True
    created_by: uuid.UUID
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class WebhookDelivery(IdentityTable, table=True):
    """One event for one subscription: attempts, the last answer, and when to try again."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="known_status"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index(
            "ix_webhook_deliveries_subscription_recent",
            "subscription_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("identity.webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    event_id: str = Field(sa_column=Column(String(80), nullable=False))
    event_type: str = Field(sa_column=Column(String(80), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    response_status: int | None = None
    latency_ms: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class EventFeedCursor(IdentityTable, table=True):
    """How far the dispatcher has read each service's event stream."""

    __tablename__ = "event_feed_cursors"

    service: str = Field(sa_column=Column(String(40), primary_key=True))
    cursor: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()")),
    )
