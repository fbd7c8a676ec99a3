"""Tables of the tasks service, all in the `tasks` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from crmkit.db import one_of, schema_registry
from crmkit.infra_tables import define_infra_tables
from services.tasks.transitions import DeliveryStatus, PlanStatus, TaskStatus

SCHEMA = "tasks"
registry = schema_registry(SCHEMA)
metadata = registry.metadata
infra_tables = define_infra_tables(metadata)

PRIORITIES = ("low", "normal", "high", "urgent")
LINK_TYPES = ("client", "application", "policy", "claim")
MARK_STATES = ("done", "snoozed")
CHANNELS = ("in_app", "email", "sms", "wechat")
RECIPIENT_TYPES = ("user", "client")
PURPOSES = ("service", "marketing")

OPEN = text("status = 'open'")
PENDING = text("status IN ('pending', 'sending')")


class TasksTable(SQLModel, registry=registry):
    """Base of every table model of this service."""


class Task(TasksTable, table=True):
    """A piece of work of one agent; ``status`` only moves along ``transitions.TASK_TRANSITIONS``."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(one_of("priority", PRIORITIES), name="priority_known"),
        CheckConstraint(one_of("status", [s.value for s in TaskStatus]), name="status_known"),
        CheckConstraint(f"link_type IS NULL OR {one_of('link_type', LINK_TYPES)}", name="link_type_known"),
        CheckConstraint("(link_type IS NULL) = (link_id IS NULL)", name="link_whole"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_has_time"),
        CheckConstraint("repeat_every_days IS NULL OR repeat_every_days > 0", name="repeat_positive"),
        # The agenda and the lists: an agent's (a team's) open tasks by due time.
        Index("ix_tasks_owner_due", "owner_agent_id", "due_by", postgresql_where=OPEN),
        Index("ix_tasks_team_due", "team_id", "due_by", postgresql_where=OPEN),
        # The reminder sweep: open tasks not yet reminded, by due time.
        Index(
            "ix_tasks_unreminded_due",
            "due_by",
            postgresql_where=text("status = 'open' AND reminded_at IS NULL"),
        ),
        Index("ix_tasks_plan", "plan_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    title: str = Field(sa_column=Column(String(200), nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    owner_agent_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    team_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    created_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    due_by: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    priority: str = Field(sa_column=Column(String(10), nullable=False))
    status: str = Field(sa_column=Column(String(10), nullable=False))
    link_type: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    link_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    plan_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("tasks.action_plans.id"), nullable=True)
    )
    plan_step: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    repeat_every_days: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reminded_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AgendaMark(TasksTable, table=True):
    """An agenda item an agent marked done or snoozed, for that day only."""

    __tablename__ = "agenda_marks"
    __table_args__ = (CheckConstraint(one_of("state", MARK_STATES), name="state_known"),)

    user_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    item_key: str = Field(sa_column=Column(String(300), primary_key=True))
    state: str = Field(sa_column=Column(String(10), nullable=False))
    marked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PlanTemplate(TasksTable, table=True):
    """Dated steps started by a published event; administrators edit them."""

    __tablename__ = "plan_templates"

    key: str = Field(sa_column=Column(String(50), primary_key=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    trigger: str = Field(sa_column=Column(String(100), nullable=False))
    steps: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    is_active: bool = Field(sa_column=Column(Boolean, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ActionPlan(TasksTable, table=True):
    """One run of a template, keyed by the event that started it: a replayed event starts nothing."""

    __tablename__ = "action_plans"
    __table_args__ = (
        CheckConstraint(one_of("status", [s.value for s in PlanStatus]), name="status_known"),
        CheckConstraint(one_of("subject_type", LINK_TYPES), name="subject_type_known"),
        UniqueConstraint("event_id", name="uq_action_plans_event_id"),
        Index("ix_action_plans_subject", "subject_type", "subject_id"),
        Index("ix_action_plans_owner", "owner_agent_id", "started_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    template_key: str = Field(sa_column=Column(String(50), nullable=False))
    event_id: str = Field(sa_column=Column(String(100), nullable=False))
    subject_type: str = Field(sa_column=Column(String(20), nullable=False))
    subject_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    owner_agent_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    team_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    started_on: date = Field(sa_column=Column(Date, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Notification(TasksTable, table=True):
    """One message to an agent (``user``) or a client, rendered from a template; ``dedupe_key`` makes
    a reminder or a plan's notice exist once however often its cause is seen."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(one_of("recipient_type", RECIPIENT_TYPES), name="recipient_type_known"),
        CheckConstraint(one_of("purpose", PURPOSES), name="purpose_known"),
        UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
        # The in-app feed: a user's notifications, newest first.
        Index("ix_notifications_feed", "recipient_id", text("created_at DESC"), text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    recipient_type: str = Field(sa_column=Column(String(10), nullable=False))
    recipient_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    owner_agent_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    team_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    template: str = Field(sa_column=Column(String(50), nullable=False))
    purpose: str = Field(sa_column=Column(String(10), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(String(2000), nullable=False))
    link_path: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    dedupe_key: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_by: str = Field(sa_column=Column(String(100), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Delivery(TasksTable, table=True):
    """The outbox and the delivery log in one: a notification on one channel, its attempts and
    outcome. Claimed with ``FOR UPDATE SKIP LOCKED``, so two replicas never send the same row."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint(one_of("status", [s.value for s in DeliveryStatus]), name="status_known"),
        UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=PENDING),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    notification_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("tasks.notifications.id"), nullable=False)
    )
    channel: str = Field(sa_column=Column(String(10), nullable=False))
    address: str | None = Field(default=None, sa_column=Column(String(320), nullable=True))
    status: str = Field(sa_column=Column(String(10), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    held_for_quiet_hours: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Preference(TasksTable, table=True):
    """A user's channels for notifications to them, and their own quiet hours (optional)."""

    __tablename__ = "preferences"

    user_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    channels: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    quiet_from: str | None = Field(default=None, sa_column=Column(String(5), nullable=True))
    quiet_until: str | None = Field(default=None, sa_column=Column(String(5), nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class MessageTemplate(TasksTable, table=True):
    """An administrator's wording of a message; the defaults live in ``templates.py``."""

    __tablename__ = "message_templates"

    key: str = Field(sa_column=Column(String(50), primary_key=True))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(String(2000), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EventCursor(TasksTable, table=True):
    """How far the intake has read each service's event stream."""

    __tablename__ = "event_cursors"

    service: str = Field(sa_column=Column(String(30), primary_key=True))
    cursor: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
