# ruff: noqa: RUF001 — Chinese text uses full-width punctuation on purpose.
"""Request and response shapes of the tasks service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from crmkit.clock import IsoDate, Moment
from crmkit.pagination import Page
from services.tasks.transitions import DeliveryStatus, PlanStatus, TaskStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class LinkType(StrEnum):
    CLIENT = "client"
    APPLICATION = "application"
    POLICY = "policy"
    CLAIM = "claim"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WECHAT = "wechat"


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: LinkType
    id: uuid.UUID


class TaskCreate(BaseModel):
    """A task for yourself, or (team leads) for an agent of your team. Give ``due_on`` (a day) or
    ``due_at`` (a moment; without an offset it is read in the business time zone), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "给张伟打电话确认体检时间",
                    "due_at": "2026-12-02T10:00:00+08:00",
                    "priority": "high",
                    "link": {"type": "client", "id": "6f1c2a52-8a0e-4d0b-9a64-0c1f5f2a9d11"},
                }
            ]
        },
    )

    title: Title
    notes: Notes | None = None
    owner_agent_id: uuid.UUID | None = Field(default=None, description="Default: yourself.")
    due_on: IsoDate | None = None
    due_at: Moment | None = None
    priority: Priority = Priority.NORMAL
    link: Link | None = None

    @model_validator(mode="after")
    def _one_due(self) -> TaskCreate:
        if (self.due_on is None) == (self.due_at is None):
            raise ValueError("give exactly one of due_on and due_at")
        return self


class TaskRead(BaseModel):
    id: uuid.UUID
    title: str
    notes: str | None
    owner_agent_id: uuid.UUID
    team_id: uuid.UUID | None
    created_by: uuid.UUID
    due_on: date | None
    due_at: datetime | None
    priority: Priority
    status: TaskStatus
    link: Link | None
    plan_id: uuid.UUID | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


TaskPage = Page[TaskRead]


class AgendaMarkState(StrEnum):
    DONE = "done"
    SNOOZED = "snoozed"


class AgendaMarkWrite(BaseModel):
    """Mark an agenda entry (its ``kind`` and ``path``, as the agenda shows them) for one day."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-12-01",
                    "kind": "follow_up",
                    "path": "/api/v1/clients/6f1c2a52-8a0e-4d0b-9a64-0c1f5f2a9d11",
                    "state": "done",
                }
            ]
        },
    )

    date: IsoDate
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
    path: Annotated[str, StringConstraints(pattern=r"^/api/v1/[A-Za-z0-9_\-/]{1,240}$")]
    state: AgendaMarkState


class AgendaMarkRead(BaseModel):
    date: date
    kind: str
    path: str
    state: AgendaMarkState
    marked_at: datetime


class AgendaLists(BaseModel):
    """The tasks section of the agenda (open tasks due by the day's end, overdue first) and the
    marks the agent set on that day."""

    tasks: TaskPage
    marks: list[AgendaMarkRead]


class StepWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset_days: StrictInt = Field(ge=0, le=3660, description="Days after the event; never negative.")
    title: Title
    priority: Priority = Priority.NORMAL
    repeat_every_days: StrictInt | None = Field(
        default=None, ge=1, le=366, description="Again this many days after each one is done (until closed)."
    )


class Trigger(StrEnum):
    POLICY_ISSUED = "policy.issued"
    CLAIM_REPORTED = "claim.reported"
    CLIENT_TIER_CHANGED = "client.tier_changed"


class PlanTemplateWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "保单签发后",
                    "trigger": "policy.issued",
                    "steps": [{"offset_days": 0, "title": "递送保单合同", "priority": "high"}],
                    "is_active": True,
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    trigger: Trigger
    steps: list[StepWrite] = Field(min_length=1, max_length=50)
    is_active: StrictBool = True


class StepRead(BaseModel):
    offset_days: int
    title: str
    priority: Priority
    repeat_every_days: int | None


class PlanTemplateRead(BaseModel):
    key: str
    name: str
    trigger: str
    steps: list[StepRead]
    is_active: bool
    customised: bool = Field(description="True when an administrator's version replaces the default.")
    version: int


class ActionPlanRead(BaseModel):
    id: uuid.UUID
    template_key: str
    event_id: str
    subject: Link
    owner_agent_id: uuid.UUID
    status: PlanStatus
    started_on: date
    open_tasks: int
    created_at: datetime


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["user", "client"]
    id: uuid.UUID


class NotificationCreate(BaseModel):
    """A message from a template. To a client: SMS or WeChat, with the consent its purpose needs
    (marketing for greetings, personal data for service messages), held during quiet hours."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipient": {"type": "client", "id": "6f1c2a52-8a0e-4d0b-9a64-0c1f5f2a9d11"},
                    "template": "claim_progress",
                    "channels": ["sms"],
                    "variables": {"progress": "材料已齐全，已提交保险公司审核"},
                }
            ]
        },
    )

    recipient: Recipient
    template: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,50}$")]
    channels: list[Channel] = Field(min_length=1, max_length=4)
    variables: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")],
        Annotated[str, StringConstraints(max_length=200)],
    ] = Field(default_factory=dict, max_length=20)


class DeliveryRead(BaseModel):
    channel: Channel
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    held_for_quiet_hours: bool


class NotificationRead(BaseModel):
    id: uuid.UUID
    recipient: Recipient
    template: str
    subject: str
    body: str
    link_path: str | None
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryRead]


NotificationPage = Page[NotificationRead]


class PreferencesWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"channels": ["in_app", "email"], "quiet_from": "22:00", "quiet_until": "07:30"}]
        },
    )

    channels: list[Channel] = Field(
        min_length=1, max_length=4, description="Where notifications to you go (in-app is always kept)."
    )
    quiet_from: ClockTime | None = None
    quiet_until: ClockTime | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> PreferencesWrite:
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise ValueError("give both quiet_from and quiet_until, or neither")
        return self


class PreferencesRead(BaseModel):
    user_id: uuid.UUID
    channels: list[Channel]
    quiet_from: str | None
    quiet_until: str | None
    version: int


class MessageTemplateWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"subject": "生日快乐", "body": "{name}，生日快乐！——{agent}"}]},
    )

    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class MessageTemplateRead(BaseModel):
    key: str
    purpose: str
    audience: str
    subject: str
    body: str
    variables: list[str]
    customised: bool


class Occasion(StrEnum):
    BIRTHDAY = "birthday"
    MILESTONE = "milestone"
    SPRING_FESTIVAL = "spring_festival"
    MID_AUTUMN = "mid_autumn"
    NATIONAL_DAY = "national_day"


class GreetingEntry(BaseModel):
    client_id: uuid.UUID
    client_name: str
    occasion: Occasion
    on: date
    title: str


class Festival(BaseModel):
    occasion: Occasion
    name: str
    on: date


class GreetingList(BaseModel):
    """Who to greet from ``date`` for ``days`` days: birthdays and family milestones of your clients,
    and the festivals in that window (greet every client you choose)."""

    date: date
    days: int
    festivals: list[Festival]
    items: list[GreetingEntry]


class GreetingSent(BaseModel):
    """A greeting sent to a client, by a channel (a notification from the greeting template) or by
    hand (``by_hand``: recorded only). Either way it lands on the client's timeline."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"occasion": "birthday", "channel": "wechat"}]},
    )

    occasion: Occasion
    channel: Literal["sms", "wechat", "by_hand"]
    milestone: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] | None
    ) = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None


class GreetingRecorded(BaseModel):
    client_id: uuid.UUID
    occasion: Occasion
    channel: str
    notification_id: uuid.UUID | None
    interaction_id: uuid.UUID
